# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The only code of the collection that talks to a Kubernetes API server through the ``kubernetes`` library:
lists (CRDs, custom objects, Pods, Events, Nodes, Leases, workloads) read as JSON dicts.

It loads the kubeconfig with the library (certificates, tokens, exec plugins, proxies as ``kubectl`` takes them)
and GETs each list by its API path through the library's ``ApiClient``, without the generated API classes: in
kubernetes 37 importing them (pydantic models built at import) takes 0.7 s for CoreV1Api alone, longer than
every read a module makes. Kept apart from ``openkasugai`` so that the modules that read no list
(``kustomize_apply``) do not import the library at all.
"""

import json

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.openkasugai import OpenKasugaiError

try:
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
except ImportError as exc:  # the module reports it with missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc
else:
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None

REQUEST_TIMEOUT = 30


def api_error(what, exc):
    """An OpenKasugaiError saying ``what`` failed: the HTTP status and the API server's message when it answered."""
    if HAS_KUBERNETES and isinstance(exc, ApiException):
        detail = ''
        try:
            detail = json.loads(exc.body or '{}').get('message') or ''
        except (TypeError, ValueError, AttributeError):
            detail = ''
        return OpenKasugaiError('{}: HTTP {} {}{}'.format(what, exc.status, exc.reason, ': ' + detail if detail else ''))
    return OpenKasugaiError('{}: {}'.format(what, exc))


def _api_errors():
    return (ApiException, ConfigException, Urllib3HTTPError, OSError, ValueError)


def custom_objects_path(info, namespace=''):
    """The API path of the objects of one kind (a ``kind_infos`` entry), in ``namespace`` or all namespaces."""
    base = '/apis/{}/{}'.format(info['group'], info['version'])
    if namespace and info['namespaced']:
        return '{}/namespaces/{}/{}'.format(base, namespace, info['plural'])
    return '{}/{}'.format(base, info['plural'])


def core_path(prefix, resource, namespace=''):
    """The API path of a built-in list: ``core_path('/api/v1', 'pods', 'default')`` -> ``/api/v1/namespaces/default/pods``."""
    return '{}/namespaces/{}/{}'.format(prefix, namespace, resource) if namespace else '{}/{}'.format(prefix, resource)


class KubeCustomResources:
    """Lists of one cluster: CRDs, the objects of one kind, Pods, Events, Nodes, Leases, Deployments and DaemonSets."""

    def __init__(self, kubeconfig, context=None, request_timeout=REQUEST_TIMEOUT):
        self.timeout = request_timeout
        try:
            self.api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context or None, persist_config=False)
        except _api_errors() as exc:
            raise api_error('cannot load kubeconfig {}{}'.format(kubeconfig, ' (context {})'.format(context) if context else ''), exc) from exc

    def _get(self, path):
        """The JSON the API server answers to a GET of ``path``; ApiException when it answers an error."""
        headers = {'Accept': 'application/json'}
        if hasattr(self.api_client, 'param_serialize'):  # kubernetes >= 37: the request is built, then sent
            request = self.api_client.param_serialize('GET', path, header_params=headers, auth_settings=['BearerToken'])
            response = self.api_client.call_api(*request, _request_timeout=self.timeout)
            response.read()
            if not 200 <= response.status < 300:
                raise ApiException(http_resp=response)
        else:  # 36 and before (checked by hand with 36.0.3): one call, which raises ApiException itself
            response = self.api_client.call_api(path, 'GET', header_params=headers, auth_settings=['BearerToken'], _preload_content=False,
                                                _return_http_data_only=True, _request_timeout=self.timeout)
        return json.loads(response.data)

    def _items(self, what, path):
        try:
            return self._get(path).get('items') or []
        except _api_errors() as exc:
            raise api_error('listing {} failed'.format(what), exc) from exc

    def list_crds(self):
        """Every CustomResourceDefinition."""
        return self._items('CustomResourceDefinitions', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')

    def list_objects(self, info, namespace=''):
        """The objects of one kind (``kind_infos`` entry), in ``namespace`` or all namespaces."""
        return self._items('{}.{}/{}'.format(info['plural'], info['group'], info['version']), custom_objects_path(info, namespace))

    def _list_core(self, what, prefix, namespace=''):
        return self._items(what + (' in namespace ' + namespace if namespace else ''), core_path(prefix, what, namespace))

    def list_pods(self, namespace=''):
        """The Pods of ``namespace`` (all namespaces when empty)."""
        return self._list_core('pods', '/api/v1', namespace)

    def list_nodes(self):
        """Every Node."""
        return self._list_core('nodes', '/api/v1')

    def list_node_leases(self):
        """The kubelets' heartbeats: the Leases of kube-node-lease."""
        return self._list_core('leases', '/apis/coordination.k8s.io/v1', 'kube-node-lease')

    def list_workloads(self):
        """Every Deployment and DaemonSet, as two lists."""
        return self._list_core('deployments', '/apis/apps/v1'), self._list_core('daemonsets', '/apis/apps/v1')

    def list_events(self, namespace=''):
        """The core/v1 Events of ``namespace`` (all namespaces when empty)."""
        return self._list_core('events', '/api/v1', namespace)
