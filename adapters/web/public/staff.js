// The staff inbox page; see adapters/web/staff.ts for its API.
