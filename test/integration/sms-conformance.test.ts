import { runAdapterConformance } from '../conformance/adapter-conformance.ts';
import { smsHarness } from '../conformance/sms-harness.ts';

runAdapterConformance('sms (fake Twilio)', smsHarness);
