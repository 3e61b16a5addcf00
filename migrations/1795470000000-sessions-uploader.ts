import { MigrationInterface, QueryRunner } from "typeorm";

/** activeUploads finds a user's ACTIVE sessions by uploader (UploadService.active; the web app's other-devices panel). */
export class SessionsUploader1795470000000 implements MigrationInterface {
    name = 'SessionsUploader1795470000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX \`ix_sessions_uploader\` ON \`upload_sessions\` (\`uploaderId\`, \`status\`)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX \`ix_sessions_uploader\` ON \`upload_sessions\``);
    }

}
