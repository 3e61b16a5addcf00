import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { ConfirmPartInput, FileType, UploadSessionType } from './types';

@ObjectType('UploadItemError', { description: 'Why one item of a batch failed: the code and message the single-file call would have given. Nothing of that item was written.' })
export class UploadItemErrorType {
  @Field({ description: 'An error code (BAD_USER_INPUT, CONFLICT, PAYLOAD_TOO_LARGE, PRECONDITION_FAILED, NOT_FOUND, FORBIDDEN, ...).' }) code: string;
  @Field() message: string;
  @Field(() => String, { nullable: true, description: 'The path the error is about, when it names one (a folder in the way, say).' }) path?: string | null;
  @Field(() => [Int], { nullable: true, description: 'PRECONDITION_FAILED of a completion: the parts the store does not hold as declared.' }) missingParts?: number[] | null;
}

@ObjectType('BeginUploadResult', { description: 'One item of beginUploads: its session (as beginUpload returns it), or its error.' })
export class BeginUploadResultType {
  @Field(() => Int, { description: 'The position of the item in the request.' }) index: number;
  @Field(() => UploadSessionType, { nullable: true }) session: UploadSessionType | null;
  @Field(() => UploadItemErrorType, { nullable: true }) error: UploadItemErrorType | null;
}

@InputType('CompleteUploadInput')
export class CompleteUploadInput {
  @Field(() => ID) sessionId: string;
  @Field(() => [ConfirmPartInput], { nullable: true, description: 'ETags of parts not confirmed yet, as completeUpload takes them.' }) parts?: ConfirmPartInput[] | null;
}

@ObjectType('CompleteUploadResult', { description: 'One item of completeUploads: the file (as completeUpload returns it), or its error.' })
export class CompleteUploadResultType {
  @Field(() => Int, { description: 'The position of the item in the request.' }) index: number;
  @Field(() => FileType, { nullable: true }) file: FileType | null;
  @Field(() => UploadItemErrorType, { nullable: true }) error: UploadItemErrorType | null;
}
