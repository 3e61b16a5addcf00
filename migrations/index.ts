import type { MixedList } from 'typeorm';
import { Initial1795394080670 } from './1795394080670-initial';
import { Sharing1795395348688 } from './1795395348688-sharing';
import { Journal1795395791204 } from './1795395791204-journal';
import { DeviceLastSeen1795410000000 } from './1795410000000-device-last-seen';
import { SinglePut1795420000000 } from './1795420000000-single-put';
import { QuotaCounters1795430000000 } from './1795430000000-quota-counters';
import { Mounts1795440000000 } from './1795440000000-mounts';
import { ChunkSha1795455000000 } from './1795455000000-chunk-sha';
import { SessionsUploader1795470000000 } from './1795470000000-sessions-uploader';

/** Every migration, in order (imported explicitly so compiled and ts-run code find the same list). */
export const migrations: MixedList<Function> = [Initial1795394080670, Sharing1795395348688, Journal1795395791204, DeviceLastSeen1795410000000, SinglePut1795420000000, QuotaCounters1795430000000, Mounts1795440000000, ChunkSha1795455000000, SessionsUploader1795470000000];
