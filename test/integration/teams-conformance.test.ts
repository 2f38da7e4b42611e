import { runAdapterConformance } from '../conformance/adapter-conformance.ts';
import { teamsHarness } from '../conformance/teams-harness.ts';

runAdapterConformance('teams (fake Bot Connector)', teamsHarness);
