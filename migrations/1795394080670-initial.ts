import { MigrationInterface, QueryRunner } from "typeorm";

export class Initial1795394080670 implements MigrationInterface {
    name = 'Initial1795394080670'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`users\` (\`id\` uuid NOT NULL, \`email\` varchar(320) NOT NULL, \`name\` varchar(200) NULL, \`passwordHash\` varchar(255) NOT NULL, \`quotaBytes\` bigint NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), UNIQUE INDEX \`IDX_97672ac88f789774dd47f7c8be\` (\`email\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`devices\` (\`id\` uuid NOT NULL, \`userId\` varchar(36) NOT NULL, \`name\` varchar(200) NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \`revokedAt\` datetime NULL, INDEX \`IDX_e8a5d59f0ac3040395f159507c\` (\`userId\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`files\` (\`id\` uuid NOT NULL, \`ownerId\` varchar(36) NOT NULL, \`pathKey\` varchar(64) NULL, \`parentKey\` varchar(64) NULL, \`path\` text NOT NULL, \`name\` varchar(255) NOT NULL, \`isFolder\` tinyint NOT NULL DEFAULT 0, \`size\` bigint NOT NULL DEFAULT '0', \`mimeType\` varchar(255) NULL, \`contentHash\` varchar(64) NULL, \`status\` varchar(16) NOT NULL, \`revision\` int NOT NULL DEFAULT '0', \`currentRevisionId\` varchar(36) NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \`updatedAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), \`deletedAt\` datetime NULL, INDEX \`ix_files_owner_parent\` (\`ownerId\`, \`parentKey\`), UNIQUE INDEX \`uq_files_owner_path\` (\`ownerId\`, \`pathKey\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`file_revisions\` (\`id\` uuid NOT NULL, \`fileId\` varchar(36) NOT NULL, \`ownerId\` varchar(36) NOT NULL, \`revision\` int NOT NULL, \`size\` bigint NOT NULL, \`contentHash\` varchar(64) NOT NULL, \`storageKey\` varchar(1024) NOT NULL, \`partSize\` bigint NOT NULL, \`mimeType\` varchar(255) NULL, \`deviceId\` varchar(36) NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), INDEX \`ix_revisions_owner_hash\` (\`ownerId\`, \`contentHash\`), UNIQUE INDEX \`uq_revisions_file_rev\` (\`fileId\`, \`revision\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`chunks\` (\`revisionId\` varchar(36) NOT NULL, \`index\` int NOT NULL, \`offset\` bigint NOT NULL, \`size\` bigint NOT NULL, \`sha256\` varchar(64) NOT NULL, \`etag\` varchar(128) NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (\`revisionId\`, \`index\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`upload_sessions\` (\`id\` uuid NOT NULL, \`ownerId\` varchar(36) NOT NULL, \`deviceId\` varchar(36) NULL, \`path\` text NOT NULL, \`pathKey\` varchar(64) NOT NULL, \`size\` bigint NOT NULL, \`partSize\` bigint NOT NULL, \`contentHash\` varchar(64) NOT NULL, \`mimeType\` varchar(255) NULL, \`status\` varchar(16) NOT NULL, \`storageKey\` varchar(1024) NOT NULL, \`storageUploadId\` varchar(1024) NULL, \`baseRevision\` int NULL, \`fileId\` varchar(36) NULL, \`expiresAt\` datetime NOT NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \`updatedAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), INDEX \`ix_sessions_expiry\` (\`status\`, \`expiresAt\`), INDEX \`ix_sessions_resume\` (\`ownerId\`, \`pathKey\`, \`contentHash\`, \`status\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`upload_parts\` (\`sessionId\` varchar(36) NOT NULL, \`partNumber\` int NOT NULL, \`offset\` bigint NOT NULL, \`size\` bigint NOT NULL, \`sha256\` varchar(64) NOT NULL, \`md5\` varchar(32) NULL, \`status\` varchar(16) NOT NULL, \`etag\` varchar(128) NULL, \`updatedAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), PRIMARY KEY (\`sessionId\`, \`partNumber\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`changes\` (\`namespaceId\` varchar(36) NOT NULL, \`seq\` bigint NOT NULL, \`kind\` varchar(16) NOT NULL, \`fileId\` varchar(36) NOT NULL, \`path\` text NOT NULL, \`fromPath\` text NULL, \`revision\` int NOT NULL DEFAULT '0', \`isFolder\` tinyint NOT NULL DEFAULT 0, \`deviceId\` varchar(36) NULL, \`subjectUserId\` varchar(36) NULL, \`at\` datetime NOT NULL, INDEX \`ix_changes_file\` (\`fileId\`), PRIMARY KEY (\`namespaceId\`, \`seq\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`journal_heads\` (\`namespaceId\` varchar(36) NOT NULL, \`lastSeq\` bigint NOT NULL, PRIMARY KEY (\`namespaceId\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`shares\` (\`id\` uuid NOT NULL, \`fileId\` varchar(36) NOT NULL, \`ownerId\` varchar(36) NOT NULL, \`userId\` varchar(36) NOT NULL, \`role\` varchar(16) NOT NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), INDEX \`ix_shares_user\` (\`userId\`), UNIQUE INDEX \`uq_shares_file_user\` (\`fileId\`, \`userId\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX \`uq_shares_file_user\` ON \`shares\``);
        await queryRunner.query(`DROP INDEX \`ix_shares_user\` ON \`shares\``);
        await queryRunner.query(`DROP TABLE \`shares\``);
        await queryRunner.query(`DROP TABLE \`journal_heads\``);
        await queryRunner.query(`DROP INDEX \`ix_changes_file\` ON \`changes\``);
        await queryRunner.query(`DROP TABLE \`changes\``);
        await queryRunner.query(`DROP TABLE \`upload_parts\``);
        await queryRunner.query(`DROP INDEX \`ix_sessions_resume\` ON \`upload_sessions\``);
        await queryRunner.query(`DROP INDEX \`ix_sessions_expiry\` ON \`upload_sessions\``);
        await queryRunner.query(`DROP TABLE \`upload_sessions\``);
        await queryRunner.query(`DROP TABLE \`chunks\``);
        await queryRunner.query(`DROP INDEX \`uq_revisions_file_rev\` ON \`file_revisions\``);
        await queryRunner.query(`DROP INDEX \`ix_revisions_owner_hash\` ON \`file_revisions\``);
        await queryRunner.query(`DROP TABLE \`file_revisions\``);
        await queryRunner.query(`DROP INDEX \`uq_files_owner_path\` ON \`files\``);
        await queryRunner.query(`DROP INDEX \`ix_files_owner_parent\` ON \`files\``);
        await queryRunner.query(`DROP TABLE \`files\``);
        await queryRunner.query(`DROP INDEX \`IDX_e8a5d59f0ac3040395f159507c\` ON \`devices\``);
        await queryRunner.query(`DROP TABLE \`devices\``);
        await queryRunner.query(`DROP INDEX \`IDX_97672ac88f789774dd47f7c8be\` ON \`users\``);
        await queryRunner.query(`DROP TABLE \`users\``);
    }

}
