import { MigrationInterface, QueryRunner } from "typeorm";

/** Mounts (src/entities/mount.ts): where a share appears in its member's tree. Shares made before get theirs from MountService.backfill at startup. */
export class Mounts1795440000000 implements MigrationInterface {
    name = 'Mounts1795440000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`mounts\` (\`id\` uuid NOT NULL, \`memberId\` varchar(36) NOT NULL, \`ownerId\` varchar(36) NOT NULL, \`fileId\` varchar(36) NOT NULL, \`path\` text NOT NULL, \`pathKey\` varchar(64) NOT NULL, \`parentKey\` varchar(64) NULL, \`name\` varchar(255) NOT NULL, \`createdAt\` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), INDEX \`ix_mounts_owner\` (\`ownerId\`), INDEX \`ix_mounts_member_parent\` (\`memberId\`, \`parentKey\`), UNIQUE INDEX \`uq_mounts_member_file\` (\`memberId\`, \`fileId\`), UNIQUE INDEX \`uq_mounts_member_path\` (\`memberId\`, \`pathKey\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE \`mounts\``);
    }

}
