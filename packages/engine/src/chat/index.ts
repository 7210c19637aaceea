export { ChatTemplateError } from './errors.js';
export type { ChatTemplateErrorCode } from './errors.js';
export { CHATML_TEMPLATE, PLAIN_TEMPLATE, builtinChatTemplates, renderChatTemplate, selectChatTemplate } from './template.js';
export type { ChatContentPart, ChatMessage, RenderChatOptions } from './template.js';
export { chatPromptTokens, fallbackChatTemplateName } from './prompt.js';
export type { ChatPrompt, ChatPromptOptions } from './prompt.js';
export { strftime } from './strftime.js';
export * from './tools/index.js';
