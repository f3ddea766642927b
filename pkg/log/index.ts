export { componentLogger, createLogger, type CreateLoggerResult, type Logger, type LoggerOptions } from './logger.js';
