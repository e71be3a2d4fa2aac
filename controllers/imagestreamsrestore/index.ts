// The ImageStreamsRestore controller, registered in controllers/main.ts beside the backup one.
export { startImageStreamsRestoreController, CONTROLLER, type RestoreControllerContext } from './controller.js';
export { BUNDLE_WAIT_ENV } from './waitDeadline.js';
