import { describeStorageAdapter } from './conformance';
import { startLocal } from './local-fixture';

describeStorageAdapter('local', () => startLocal());
