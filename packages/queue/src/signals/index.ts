export { SIGNALS_MAX_AGE_MS, SignalReader } from './signal-reader.ts';
export { countsAgainstHealth, SignalRecorder } from './signal-recorder.ts';
