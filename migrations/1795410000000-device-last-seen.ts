import { MigrationInterface, QueryRunner } from "typeorm";

export class DeviceLastSeen1795410000000 implements MigrationInterface {
    name = 'DeviceLastSeen1795410000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`devices\` ADD \`lastSeenAt\` datetime NULL`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`devices\` DROP COLUMN \`lastSeenAt\``);
    }

}
