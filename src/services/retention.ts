import type { JournalService } from './journal';
import type { TrashService } from './trash';

export interface RetentionReport {
  journalEntriesPruned: number;
  trashPurged: number;
  objectsCollected: number;
}

const DAY = 86_400_000;

/** The periodic clean-up: journal retention (older cursors get RESET), trash purge, object GC. */
export class Retention {
  constructor(
    private readonly journal: JournalService,
    private readonly trash: TrashService,
    private readonly journalDays = 180,
    private readonly trashDays = 30,
  ) {}

  async run(now = new Date()): Promise<RetentionReport> {
    const journalEntriesPruned = await this.journal.prune(new Date(now.getTime() - this.journalDays * DAY));
    const trashPurged = await this.trash.purgeExpired(new Date(now.getTime() - this.trashDays * DAY));
    const objectsCollected = await this.trash.collectGarbage(now);
    return { journalEntriesPruned, trashPurged, objectsCollected };
  }
}
