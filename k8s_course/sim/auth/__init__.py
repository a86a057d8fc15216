"""Who is asking, and may they: authentication, impersonation and RBAC for the simulated API.

The pieces follow kube-apiserver's request filters, in their order:

- `authentication`: a bearer token becomes a user (the kubeconfig's admin token, or a
  ServiceAccount token that `tokens` issued);
- `impersonation`: `Impersonate-*` headers swap that user for another, if RBAC allows it;
- `attributes`: the request becomes what authorizers judge (verb, resource, namespace, ...),
  and a denial becomes Kubernetes' 403 Status;
- `rbac`: Roles, ClusterRoles and their bindings, evaluated with Kubernetes' matching rules;
- `reviews`: the access-review APIs (`kubectl auth can-i`, `whoami`) answered by the same rules;
- `bootstrap`: the default roles and bindings every kind cluster starts with;
- `gate`: the one call the HTTP layer makes, putting the steps above together.
"""
