// Names of the API, as the CRDs in crds/ declare them (pkg/api/crds.test.ts checks).
export const GROUP = 'oadp.openshift.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const ISB_KIND = 'ImageStreamsBackup';
export const ISB_PLURAL = 'imagestreamsbackups';
export const ISR_KIND = 'ImageStreamsRestore';
export const ISR_PLURAL = 'imagestreamsrestores';

/** The condition every resource carries (see the status.conditions description). */
