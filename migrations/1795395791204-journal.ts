import { MigrationInterface, QueryRunner } from "typeorm";

export class Journal1795395791204 implements MigrationInterface {
    name = 'Journal1795395791204'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`orphan_objects\` (\`keyHash\` varchar(64) NOT NULL, \`storageKey\` varchar(1024) NOT NULL, \`ownerId\` varchar(36) NOT NULL, \`contentHash\` varchar(64) NOT NULL, \`dueAt\` datetime NOT NULL, PRIMARY KEY (\`keyHash\`)) ENGINE=InnoDB`);
        await queryRunner.query(`ALTER TABLE \`files\` ADD \`trashedWithId\` varchar(36) NULL`);
        await queryRunner.query(`ALTER TABLE \`journal_heads\` ADD \`prunedSeq\` bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`CREATE INDEX \`ix_changes_at\` ON \`changes\` (\`at\`)`);
        await queryRunner.query(`CREATE INDEX \`ix_shares_owner\` ON \`shares\` (\`ownerId\`)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX \`ix_shares_owner\` ON \`shares\``);
        await queryRunner.query(`DROP INDEX \`ix_changes_at\` ON \`changes\``);
        await queryRunner.query(`ALTER TABLE \`journal_heads\` DROP COLUMN \`prunedSeq\``);
        await queryRunner.query(`ALTER TABLE \`files\` DROP COLUMN \`trashedWithId\``);
        await queryRunner.query(`DROP TABLE \`orphan_objects\``);
    }

}
