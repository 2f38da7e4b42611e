import { runAdapterConformance } from '../conformance/adapter-conformance.ts';
import { slackHarness } from '../conformance/slack-harness.ts';

runAdapterConformance('slack (fake Slack)', slackHarness);
