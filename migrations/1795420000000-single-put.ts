import { MigrationInterface, QueryRunner } from "typeorm";

export class SinglePut1795420000000 implements MigrationInterface {
    name = 'SinglePut1795420000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`upload_sessions\` ADD \`singlePut\` tinyint NOT NULL DEFAULT 0`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`upload_sessions\` DROP COLUMN \`singlePut\``);
    }

}
