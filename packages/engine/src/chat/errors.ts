import { SmallMindError } from '@smallmind/quantization-tensors';

/** Codes of `ChatTemplateError`. */
export type ChatTemplateErrorCode =
  /** The template does not parse. */
  | 'TEMPLATE_SYNTAX'
  /** The template called `raise_exception(message)` (e.g. roles that do not alternate). */
  | 'TEMPLATE_RAISED'
  /** Rendering failed for another reason (an unsupported filter, a type error inside the template). */
  | 'TEMPLATE_RENDER'
  /** A message is not `{ role: string, content: string | parts }`. */
  | 'INVALID_MESSAGE'
  /** The template changes message contents in a way that keeps them from being told apart from its own text. */
  | 'CONTENT_NOT_ISOLATED';

/** A chat template cannot be rendered or tokenized; `field` names the message or option at fault. */
export class ChatTemplateError extends SmallMindError<ChatTemplateErrorCode> {
  override readonly name = 'ChatTemplateError';
  constructor(
    code: ChatTemplateErrorCode,
    /** e.g. `template`, `messages[2].content`. */
    readonly field: string,
    message: string,
  ) {
    super(code, message);
  }
}
