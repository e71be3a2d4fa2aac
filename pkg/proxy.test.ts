import { KubeConfig } from '@kubernetes/client-node';
import { applyProxy } from './k8s/kubeconfig.js';
import { bypassed, proxyFor } from './proxy.js';

describe('NO_PROXY', () => {
  // OpenShift's cluster-wide proxy writes NO_PROXY like this one.
  const openshift = '.cluster.local,.svc,10.128.0.0/14,172.30.0.0/16,localhost,127.0.0.1,api-int.example.com,registry.local:5000,[fd00::1]:8443';
  it.each([
    { url: 'https://image-registry.openshift-image-registry.svc:5000/v2/', direct: true, why: 'a .svc name' },
    { url: 'https://kubernetes.default.svc.cluster.local/', direct: true, why: 'a .cluster.local name' },
    { url: 'https://172.30.0.1/api', direct: true, why: 'an address in a CIDR' },
    { url: 'https://10.131.2.3:9000/', direct: true, why: 'an address in another CIDR' },
    { url: 'https://10.132.0.1/', direct: false, why: 'an address outside every CIDR' },
    { url: 'https://api-int.example.com:6443/', direct: true, why: 'a host named exactly' },
    { url: 'https://sub.api-int.example.com/', direct: true, why: 'a subdomain of a named host' },
    { url: 'https://notapi-int.example.com/', direct: false, why: 'a name that only ends like a named host' },
    { url: 'https://registry.local:5000/', direct: true, why: 'a host:port entry with that port' },
    { url: 'https://registry.local:5001/', direct: false, why: 'a host:port entry with another port' },
    { url: 'https://[fd00::1]:8443/', direct: true, why: 'an IPv6 address with its port' },
    { url: 'https://s3.us-east-1.amazonaws.com/', direct: false, why: 'object storage on the internet' },
  ])('$url: direct $direct ($why)', ({ url, direct }) => {
    expect(bypassed(new URL(url), openshift)).toBe(direct);
  });

  it('uses HTTPS_PROXY for https, HTTP_PROXY for http, lower case too, and * for no proxy at all', () => {
    const env = { https_proxy: 'http://proxy:3128', HTTP_PROXY: 'http://plain:3128' };
    expect(proxyFor(new URL('https://a.example/'), env)).toBe('http://proxy:3128');
    expect(proxyFor(new URL('http://a.example/'), env)).toBe('http://plain:3128');
    expect(proxyFor(new URL('https://a.example/'), { ...env, NO_PROXY: '*' })).toBeUndefined();
    expect(proxyFor(new URL('https://a.example/'), {})).toBeUndefined();
  });

  it('gives the API server a proxy-url unless NO_PROXY names it or the kubeconfig has one', () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'a', server: 'https://api.example.com:6443' }, { name: 'b', server: 'https://172.30.0.1' }, { name: 'c', server: 'https://c.example', proxyUrl: 'http://own:1' }],
      users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'a', user: 'u' }], currentContext: 'x',
    });
    applyProxy(kc, { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '172.30.0.0/16' });
    expect(kc.clusters.map((c) => c.proxyUrl)).toEqual(['http://proxy:3128', undefined, 'http://own:1']);
    expect(kc.getCurrentContext()).toBe('x');
  });
});
