// Names of the API, as the CRDs in crds/ declare them (pkg/api/crds.test.ts checks).
export const GROUP = 'oadp.openshift.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const ISB_KIND = 'ImageStreamsBackup';
export const ISB_PLURAL = 'imagestreamsbackups';
export const ISR_KIND = 'ImageStreamsRestore';
export const ISR_PLURAL = 'imagestreamsrestores';

/**
 * Set on an ImageStreamsBackup (value: a short reason) to stop its run: the Velero plugin's Cancel
 * sets it when Velero gives up waiting for the operation; the backup then ends Failed, Cancelled.
 */
export const CANCEL_ANNOTATION = 'imagestreams.oadp.openshift.io/cancel';

/**
 * On every ImageStreamsBackup: the controller deletes its bundle (spec.deletionPolicy Delete)
 * before the object goes. Removing it by hand releases the object and keeps the data.
 */
export const BUNDLE_FINALIZER = 'imagestreams.oadp.openshift.io/bundle';
