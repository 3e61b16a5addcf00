import { MigrationInterface, QueryRunner } from "typeorm";

/** Quota counters (src/services/quota.ts): per-user used and reserved bytes, per-session reservation; usage backfilled from the files. */
export class QuotaCounters1795430000000 implements MigrationInterface {
    name = 'QuotaCounters1795430000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`users\` ADD \`usedBytes\` bigint NULL`);
        await queryRunner.query(`ALTER TABLE \`users\` ADD \`reservedBytes\` bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE \`upload_sessions\` ADD \`reservedBytes\` bigint NOT NULL DEFAULT '0'`);
        // sessions begun before reservations hold none (reservedBytes 0), so users.reservedBytes starts at 0
        await queryRunner.query(`UPDATE \`users\` u SET u.\`usedBytes\` = (SELECT COALESCE(SUM(f.\`size\`), 0) FROM \`files\` f WHERE f.\`ownerId\` = u.\`id\` AND f.\`status\` = 'AVAILABLE' AND f.\`isFolder\` = 0)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`upload_sessions\` DROP COLUMN \`reservedBytes\``);
        await queryRunner.query(`ALTER TABLE \`users\` DROP COLUMN \`reservedBytes\``);
        await queryRunner.query(`ALTER TABLE \`users\` DROP COLUMN \`usedBytes\``);
    }

}
