import { MigrationInterface, QueryRunner } from "typeorm";

export class Sharing1795395348688 implements MigrationInterface {
    name = 'Sharing1795395348688'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`share_links\` (\`id\` uuid NOT NULL, \`fileId\` varchar(36) NOT NULL, \`ownerId\` varchar(36) NOT NULL, \`tokenHash\` varchar(64) NOT NULL, \`passwordHash\` varchar(255) NULL, \`expiresAt\` datetime NULL, \`revokedAt\` datetime NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), INDEX \`ix_share_links_file\` (\`fileId\`), UNIQUE INDEX \`uq_share_links_token\` (\`tokenHash\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`ALTER TABLE \`upload_sessions\` ADD \`uploaderId\` varchar(36) NULL`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`upload_sessions\` DROP COLUMN \`uploaderId\``);
        await queryRunner.query(`DROP INDEX \`uq_share_links_token\` ON \`share_links\``);
        await queryRunner.query(`DROP INDEX \`ix_share_links_file\` ON \`share_links\``);
        await queryRunner.query(`DROP TABLE \`share_links\``);
    }

}
