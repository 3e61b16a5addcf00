import type { JournalService } from './journal';
import type { RevisionService } from './revisions';
import type { TrashService } from './trash';

export interface RetentionReport {
  journalEntriesPruned: number;
  trashPurged: number;
  revisionsPruned: number;
  objectsCollected: number;
}

/** Days each kind of history is kept (defaults: journal 180, trash 30, replaced revisions 30). */
export interface RetentionDays {
  journalDays?: number;
  trashDays?: number;
  revisionDays?: number;
}

const DAY = 86_400_000;

/**
 * The periodic clean-up: journal retention (older cursors get RESET), trash purge, pruning of
 * revisions replaced long enough ago, object GC.
 */
export class Retention {
  constructor(
    private readonly journal: JournalService,
    private readonly trash: TrashService,
    private readonly revisions: RevisionService,
    private readonly days: RetentionDays = {},
  ) {}

  async run(now = new Date()): Promise<RetentionReport> {
    const ago = (days: number) => new Date(now.getTime() - days * DAY);
    const journalEntriesPruned = await this.journal.prune(ago(this.days.journalDays ?? 180));
    const trashPurged = await this.trash.purgeExpired(ago(this.days.trashDays ?? 30));
    const revisionsPruned = await this.revisions.pruneReplaced(ago(this.days.revisionDays ?? 30), this.trash.gcDueAt());
    const objectsCollected = await this.trash.collectGarbage(now);
    return { journalEntriesPruned, trashPurged, revisionsPruned, objectsCollected };
  }
}
