// The orphan rule: which bundles the collector may delete because their ImageStreamsBackup is
// gone without its finalizer having run (deleted while this controller was not installed, or
// released by hand). Disaster recovery reads bundles written elsewhere, so the rule is narrow: the
// bundle names this cluster, a watched namespace, and not Retain, and a live read (not a cache)
// shows that no ImageStreamsBackup with its uid exists. Anything else is never touched: bundles of
// other clusters, imported ones, those of unwatched namespaces, and those written without a
// cluster identity.
export interface BundleOwner {
  namespace: string;
  name: string;
  uid: string;
  cluster?: string;
  deletionPolicy?: string;
}

export interface OrphanDeps {
  /** This cluster's identity; without it, nothing is ever found orphaned. */
  cluster?: string;
  watchedNamespaces: ReadonlySet<string>;
  /** A live read of the ImageStreamsBackup (its uid), undefined when there is none. */
  liveUid: (namespace: string, name: string) => Promise<string | undefined>;
}

export function orphanRule(deps: OrphanDeps): (owner: BundleOwner) => Promise<boolean> {
  return async (owner) => {
    if (!deps.cluster || owner.cluster !== deps.cluster) return false;
    if (owner.deletionPolicy === 'Retain') return false;
    if (!deps.watchedNamespaces.has(owner.namespace)) return false;
    return (await deps.liveUid(owner.namespace, owner.name)) !== owner.uid;
  };
}
