import { MigrationInterface, QueryRunner } from "typeorm";

/** Chunks by SHA-256: an upload copies, inside the store, any part its owner already stores (UploadService.copyParts). */
export class ChunkSha1795455000000 implements MigrationInterface {
    name = 'ChunkSha1795455000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX \`ix_chunks_sha256\` ON \`chunks\` (\`sha256\`)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX \`ix_chunks_sha256\` ON \`chunks\``);
    }

}
