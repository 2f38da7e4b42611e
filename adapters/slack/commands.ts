import type { DirectoryReader } from '../../src/directory/directory.ts';
import type { Store } from '../../src/store/store.ts';
import { escapeText } from './blocks.ts';
import type { SlashCommand } from './inbound.ts';
import type { SlackTexts } from './texts.ts';

/**
 * `/skolebro`: help for staff, and `/skolebro innboks`, the caller's threads waiting for
 * a reply. Answered in the command's own HTTP response (ephemeral: only the caller sees
 * it), so it may read Redis but never calls Slack, the translator or the NLU.
 * `/skolebro kunngjøring` is in broadcast.ts and broadcast-flow.ts.
 */

/** One thread of the inbox list. */
export interface InboxItem {
  /** The guardian's name; undefined for a parent not in the register. */
  guardian?: string;
  child?: { name: string; className: string };
  /** Last activity, ISO date-time. */
  lastAt: string;
}

/** A Slack user's open threads, newest first; undefined when the user is not staff. */
export type Inbox = (slackUserId: string) => Promise<InboxItem[] | undefined>;

/** Subcommands that list the inbox. */
const INBOX_WORDS = new Set(['innboks', 'inbox']);

/**
 * The inbox from the store: the newest `scan` threads (default 20) of the staff member
 * the Slack user is linked to, those whose latest entry is not a staff reply.
 */
export function storeInbox(deps: {
  store: Pick<Store, 'threadsFor' | 'thread'>;
  directory: Pick<DirectoryReader, 'identify' | 'guardian' | 'view'>;
  scan?: number;
}): Inbox {
  return async (slackUserId) => {
    const person = await deps.directory.identify('slack', slackUserId);
    if (person.kind !== 'staff') return undefined;
    const items: InboxItem[] = [];
    for (const { meta, lastAt } of (await deps.store.threadsFor(person.id)).slice(0, deps.scan ?? 20)) {
      const thread = await deps.store.thread(meta.id);
      const last = thread?.entries.at(-1);
      if (!thread || !last || last.from === 'staff') continue;
      const guardian = meta.guardianId ? await deps.directory.guardian(meta.guardianId) : undefined;
      const view = guardian
        ? await deps.directory.view({
            kind: 'guardian',
            id: guardian.id,
            name: guardian.name,
            preferredLang: guardian.preferredLang,
          })
        : undefined;
      const child = view?.children.find((c) => c.id === meta.childId);
      items.push({
        lastAt,
        ...(guardian ? { guardian: guardian.name } : {}),
        ...(child ? { child: { name: child.firstName, className: child.className } } : {}),
      });
    }
    return items;
  };
}

/** The ephemeral answer to a slash command, as mrkdwn-safe text. */
export async function commandReply(
  command: SlashCommand,
  ctx: {
    texts: SlackTexts;
    lang: string;
    inbox?: Inbox;
    /** The help to give instead of `slack.help` (with broadcasts on: one that names `/skolebro kunngjøring`). */
    help?: string;
  },
): Promise<{ response_type: 'ephemeral'; text: string }> {
  const { texts, lang } = ctx;
  const word = command.text.trim().toLowerCase().split(/\s+/)[0] ?? '';
  let text = ctx.help ?? texts(lang, 'slack.help');
  if (INBOX_WORDS.has(word) && ctx.inbox) {
    const items = await ctx.inbox(command.user_id);
    if (items === undefined) text = texts(lang, 'slack.inbox.notStaff');
    else if (items.length === 0) text = texts(lang, 'slack.inbox.empty');
    else {
      const lines = items.map((item) => {
        const name = item.guardian ?? texts(lang, 'slack.inbox.unknownParent');
        return item.child
          ? texts(lang, 'slack.inbox.item', {
              name,
              text: item.child.name,
              className: item.child.className,
              date: item.lastAt,
            })
          : texts(lang, 'slack.inbox.itemNoChild', { name, date: item.lastAt });
      });
      text = [texts(lang, 'slack.inbox.heading'), ...lines].join('\n');
    }
  }
  return { response_type: 'ephemeral', text: escapeText(text) };
}
