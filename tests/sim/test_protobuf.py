"""The protobuf request bodies of kubectl's typed commands, decoded into the objects' JSON."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_course.sim import certificates, protobuf
from tests.conftest import KUBECTL

# ---------------------------------------------------------------------------------------------
# Real bodies, recorded from kubectl 1.32 (`kubectl <command> --dry-run=server` against a server
# that records what it is sent). Each expected dict is what `kubectl <command> --dry-run=client
# -o json` prints for the same command, so the decoding matches kubectl's own JSON encoding.

KUBECTL_BODIES = [
    (
        'create namespace demo',
        b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04demo\x12\x00\x1a\x00"\x00*'
        b'\x002\x008\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00"\x00',
        {'kind': 'Namespace',
         'apiVersion': 'v1',
         'metadata': {'name': 'demo', 'creationTimestamp': None},
         'spec': {},
         'status': {}},
    ),
    (
        'create configmap cfg --from-literal=a=1',
        b'k8s\x00\n\x0f\n\x02v1\x12\tConfigMap\x12\x1d\n\x13\n\x03cfg\x12\x00\x1a\x00"\x00*'
        b'\x002\x008\x00B\x00\x12\x06\n\x01a\x12\x011\x1a\x00"\x00',
        {'kind': 'ConfigMap',
         'apiVersion': 'v1',
         'metadata': {'name': 'cfg', 'creationTimestamp': None},
         'data': {'a': '1'}},
    ),
    (
        'create secret generic s1 --from-literal=password=hunter2',
        b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12+\n\x12\n\x02s1\x12\x00\x1a\x00"\x00*\x002'
        b'\x008\x00B\x00\x12\x13\n\x08password\x12\x07hunter2\x1a\x00\x1a\x00"\x00',
        {'kind': 'Secret',
         'apiVersion': 'v1',
         'metadata': {'name': 's1', 'creationTimestamp': None},
         'data': {'password': 'aHVudGVyMg=='}},
    ),
    (
        'create secret docker-registry reg --docker-server=r.example.com --docker-username=u --docker-password=p',
        b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\x95\x01\n\x13\n\x03reg\x12\x00\x1a\x00"'
        b'\x00*\x002\x008\x00B\x00\x12^\n\x11.dockerconfigjson\x12I{"auths":{"r.example.com"'
        b':{"username":"u","password":"p","auth":"dTpw"}}}\x1a\x1ekubernetes.io/dockerconfig'
        b'json\x1a\x00"\x00',
        {'kind': 'Secret',
         'apiVersion': 'v1',
         'metadata': {'name': 'reg', 'creationTimestamp': None},
         'data': {'.dockerconfigjson': 'eyJhdXRocyI6eyJyLmV4YW1wbGUuY29tIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImF1dGgiOiJkVHB3In19fQ=='},
         'type': 'kubernetes.io/dockerconfigjson'},
    ),
    (
        'create deployment web --image=nginx:1.27 --replicas=3 --port=80',
        b'k8s\x00\n\x15\n\x07apps/v1\x12\nDeployment\x12\xbd\x01\n\x1f\n\x03web\x12\x00\x1a'
        b'\x00"\x00*\x002\x008\x00B\x00Z\n\n\x03app\x12\x03web\x12\x8b\x01\x08\x03\x12\x0c\n'
        b'\n\n\x03app\x12\x03web\x1aq\n\x1c\n\x00\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00Z'
        b'\n\n\x03app\x12\x03web\x12Q\x123\n\x05nginx\x12\nnginx:1.27*\x002\n\n\x00\x10\x00'
        b'\x18P"\x00*\x00B\x00j\x00r\x00\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a'
        b'\x002\x00B\x00J\x00R\x00X\x00`\x00h\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2'
        b'\x01\x00"\x02\n\x00(\x008\x00\x1a\x0c\x08\x00\x10\x00\x18\x00 \x00(\x008\x00\x1a'
        b'\x00"\x00',
        {'kind': 'Deployment',
         'apiVersion': 'apps/v1',
         'metadata': {'name': 'web', 'creationTimestamp': None, 'labels': {'app': 'web'}},
         'spec': {'replicas': 3,
                  'selector': {'matchLabels': {'app': 'web'}},
                  'template': {'metadata': {'creationTimestamp': None, 'labels': {'app': 'web'}},
                               'spec': {'containers': [{'name': 'nginx',
                                                        'image': 'nginx:1.27',
                                                        'ports': [{'containerPort': 80}],
                                                        'resources': {}}]}},
                  'strategy': {}},
         'status': {}},
    ),
    (
        'create service clusterip web --tcp=80:8080',
        b'k8s\x00\n\r\n\x02v1\x12\x07Service\x12i\n\x1f\n\x03web\x12\x00\x1a\x00"\x00*\x002'
        b'\x008\x00B\x00Z\n\n\x03app\x12\x03web\x12B\n\x1b\n\x0780-8080\x12\x03TCP\x18P"\x07'
        b'\x08\x00\x10\x90?\x1a\x00(\x00\x12\n\n\x03app\x12\x03web\x1a\x00"\tClusterIP:\x00B'
        b'\x00R\x00Z\x00`\x00h\x00\x1a\x02\n\x00\x1a\x00"\x00',
        {'kind': 'Service',
         'apiVersion': 'v1',
         'metadata': {'name': 'web', 'creationTimestamp': None, 'labels': {'app': 'web'}},
         'spec': {'ports': [{'name': '80-8080', 'protocol': 'TCP', 'port': 80, 'targetPort': 8080}],
                  'selector': {'app': 'web'},
                  'type': 'ClusterIP'},
         'status': {'loadBalancer': {}}},
    ),
    (
        'create service nodeport np --tcp=80:8080 --node-port=30080',
        b'k8s\x00\n\r\n\x02v1\x12\x07Service\x12g\n\x1d\n\x02np\x12\x00\x1a\x00"\x00*\x002'
        b'\x008\x00B\x00Z\t\n\x03app\x12\x02np\x12B\n\x1d\n\x0780-8080\x12\x03TCP\x18P"\x07'
        b'\x08\x00\x10\x90?\x1a\x00(\x80\xeb\x01\x12\t\n\x03app\x12\x02np\x1a\x00"\x08NodePo'
        b'rt:\x00B\x00R\x00Z\x00`\x00h\x00\x1a\x02\n\x00\x1a\x00"\x00',
        {'kind': 'Service',
         'apiVersion': 'v1',
         'metadata': {'name': 'np', 'creationTimestamp': None, 'labels': {'app': 'np'}},
         'spec': {'ports': [{'name': '80-8080',
                             'protocol': 'TCP',
                             'port': 80,
                             'targetPort': 8080,
                             'nodePort': 30080}],
                  'selector': {'app': 'np'},
                  'type': 'NodePort'},
         'status': {'loadBalancer': {}}},
    ),
    (
        'create service loadbalancer lb --tcp=443:8443',
        b'k8s\x00\n\r\n\x02v1\x12\x07Service\x12k\n\x1d\n\x02lb\x12\x00\x1a\x00"\x00*\x002'
        b'\x008\x00B\x00Z\t\n\x03app\x12\x02lb\x12F\n\x1d\n\x08443-8443\x12\x03TCP\x18\xbb'
        b'\x03"\x07\x08\x00\x10\xfbA\x1a\x00(\x00\x12\t\n\x03app\x12\x02lb\x1a\x00"\x0cLoadB'
        b'alancer:\x00B\x00R\x00Z\x00`\x00h\x00\x1a\x02\n\x00\x1a\x00"\x00',
        {'kind': 'Service',
         'apiVersion': 'v1',
         'metadata': {'name': 'lb', 'creationTimestamp': None, 'labels': {'app': 'lb'}},
         'spec': {'ports': [{'name': '443-8443',
                             'protocol': 'TCP',
                             'port': 443,
                             'targetPort': 8443}],
                  'selector': {'app': 'lb'},
                  'type': 'LoadBalancer'},
         'status': {'loadBalancer': {}}},
    ),
    (
        'create service externalname ext --external-name=example.com',
        b'k8s\x00\n\r\n\x02v1\x12\x07Service\x12Z\n\x1f\n\x03ext\x12\x00\x1a\x00"\x00*\x002'
        b'\x008\x00B\x00Z\n\n\x03app\x12\x03ext\x123\x12\n\n\x03app\x12\x03ext\x1a\x00"\x0cE'
        b'xternalName:\x00B\x00R\x0bexample.comZ\x00`\x00h\x00\x1a\x02\n\x00\x1a\x00"\x00',
        {'kind': 'Service',
         'apiVersion': 'v1',
         'metadata': {'name': 'ext', 'creationTimestamp': None, 'labels': {'app': 'ext'}},
         'spec': {'selector': {'app': 'ext'},
                  'type': 'ExternalName',
                  'externalName': 'example.com'},
         'status': {'loadBalancer': {}}},
    ),
    (
        'create job once --image=busybox -- echo hi',
        b'k8s\x00\n\x0f\n\x08batch/v1\x12\x03Job\x12\x88\x01\n\x14\n\x04once\x12\x00\x1a\x00'
        b'"\x00*\x002\x008\x00B\x00\x12f2d\n\x10\n\x00\x12\x00\x1a\x00"\x00*\x002\x008\x00B'
        b'\x00\x12P\x12-\n\x04once\x12\x07busybox\x1a\x04echo\x1a\x02hi*\x00B\x00j\x00r\x00'
        b'\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x05Never2\x00B\x00J\x00R\x00X'
        b'\x00`\x00h\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00\x1a\x08 \x00(\x000'
        b'\x00:\x00\x1a\x00"\x00',
        {'kind': 'Job',
         'apiVersion': 'batch/v1',
         'metadata': {'name': 'once', 'creationTimestamp': None},
         'spec': {'template': {'metadata': {'creationTimestamp': None},
                               'spec': {'containers': [{'name': 'once',
                                                        'image': 'busybox',
                                                        'command': ['echo', 'hi'],
                                                        'resources': {}}],
                                        'restartPolicy': 'Never'}}},
         'status': {}},
    ),
    (
        'create cronjob nightly --image=busybox --schedule=*/5_*_*_*_* -- date',
        b'k8s\x00\n\x13\n\x08batch/v1\x12\x07CronJob\x12\xb4\x01\n\x17\n\x07nightly\x12\x00'
        b'\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x96\x01\n\x0b*/5_*_*_*_*\x1a\x00*\x84\x01\n'
        b'\x17\n\x07nightly\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12i2g\n\x10\n\x00\x12'
        b'\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12S\x12,\n\x07nightly\x12\x07busybox\x1a'
        b'\x04date*\x00B\x00j\x00r\x00\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\t'
        b'OnFailure2\x00B\x00J\x00R\x00X\x00`\x00h\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00'
        b'\xc2\x01\x00\x1a\x00\x1a\x00"\x00',
        {'kind': 'CronJob',
         'apiVersion': 'batch/v1',
         'metadata': {'name': 'nightly', 'creationTimestamp': None},
         'spec': {'schedule': '*/5_*_*_*_*',
                  'jobTemplate': {'metadata': {'name': 'nightly', 'creationTimestamp': None},
                                  'spec': {'template': {'metadata': {'creationTimestamp': None},
                                                        'spec': {'containers': [{'name': 'nightly',
                                                                                 'image': 'busybox',
                                                                                 'command': ['date'],
                                                                                 'resources': {}}],
                                                                 'restartPolicy': 'OnFailure'}}}}},
         'status': {}},
    ),
    (
        'create rolebinding read-it --role=reader --user=alice --serviceaccount=default:bot',
        b'k8s\x00\n+\n\x1crbac.authorization.k8s.io/v1\x12\x0bRoleBinding\x12\x92\x01\n\x17'
        b'\n\x07read-it\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12*\n\x04User\x12\x19rbac.'
        b'authorization.k8s.io\x1a\x05alice"\x00\x12 \n\x0eServiceAccount\x12\x00\x1a\x03bot'
        b'"\x07default\x1a)\n\x19rbac.authorization.k8s.io\x12\x04Role\x1a\x06reader\x1a\x00'
        b'"\x00',
        {'kind': 'RoleBinding',
         'apiVersion': 'rbac.authorization.k8s.io/v1',
         'metadata': {'name': 'read-it', 'creationTimestamp': None},
         'subjects': [{'kind': 'User', 'apiGroup': 'rbac.authorization.k8s.io', 'name': 'alice'},
                      {'kind': 'ServiceAccount', 'name': 'bot', 'namespace': 'default'}],
         'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Role', 'name': 'reader'}},
    ),
    (
        'create clusterrole admin2 --verb=* --resource=* --non-resource-url=/healthz',
        b'k8s\x00\n+\n\x1crbac.authorization.k8s.io/v1\x12\x0bClusterRole\x121\n\x16\n\x06ad'
        b'min2\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x08\n\x01*\x12\x00\x1a\x01*\x12'
        b'\r\n\x01**\x08/healthz\x1a\x00"\x00',
        {'kind': 'ClusterRole',
         'apiVersion': 'rbac.authorization.k8s.io/v1',
         'metadata': {'name': 'admin2', 'creationTimestamp': None},
         'rules': [{'verbs': ['*'], 'apiGroups': [''], 'resources': ['*']},
                   {'verbs': ['*'], 'nonResourceURLs': ['/healthz']}]},
    ),
    (
        'create clusterrole agg --aggregation-rule=rbac.example.com/aggregate-to-monitoring=true',
        b'k8s\x00\n+\n\x1crbac.authorization.k8s.io/v1\x12\x0bClusterRole\x12K\n\x13\n\x03ag'
        b'g\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x1a4\n2\n0\n(rbac.example.com/aggregate'
        b'-to-monitoring\x12\x04true\x1a\x00"\x00',
        {'kind': 'ClusterRole',
         'apiVersion': 'rbac.authorization.k8s.io/v1',
         'metadata': {'name': 'agg', 'creationTimestamp': None},
         'rules': None,
         'aggregationRule': {'clusterRoleSelectors': [{'matchLabels': {'rbac.example.com/aggregate-to-monitoring': 'true'}}]}},
    ),
    (
        'create clusterrolebinding crb --clusterrole=admin2 --group=devs',
        b'k8s\x00\n2\n\x1crbac.authorization.k8s.io/v1\x12\x12ClusterRoleBinding\x12s\n\x13'
        b'\n\x03crb\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12*\n\x05Group\x12\x19rbac.aut'
        b'horization.k8s.io\x1a\x04devs"\x00\x1a0\n\x19rbac.authorization.k8s.io\x12\x0bClus'
        b'terRole\x1a\x06admin2\x1a\x00"\x00',
        {'kind': 'ClusterRoleBinding',
         'apiVersion': 'rbac.authorization.k8s.io/v1',
         'metadata': {'name': 'crb', 'creationTimestamp': None},
         'subjects': [{'kind': 'Group', 'apiGroup': 'rbac.authorization.k8s.io', 'name': 'devs'}],
         'roleRef': {'apiGroup': 'rbac.authorization.k8s.io',
                     'kind': 'ClusterRole',
                     'name': 'admin2'}},
    ),
    (
        'create serviceaccount bot',
        b'k8s\x00\n\x14\n\x02v1\x12\x0eServiceAccount\x12\x15\n\x13\n\x03bot\x12\x00\x1a\x00'
        b'"\x00*\x002\x008\x00B\x00\x1a\x00"\x00',
        {'kind': 'ServiceAccount',
         'apiVersion': 'v1',
         'metadata': {'name': 'bot', 'creationTimestamp': None}},
    ),
    (
        'create token bot --duration=10m --audience=api',
        b'k8s\x00\n(\n\x18authentication.k8s.io/v1\x12\x0cTokenRequest\x12"\n\x10\n\x00\x12'
        b'\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x08\n\x03api \xd8\x04\x1a\x04\n\x00\x12'
        b'\x00\x1a\x00"\x00',
        {'kind': 'TokenRequest',
         'apiVersion': 'authentication.k8s.io/v1',
         'metadata': {'creationTimestamp': None},
         'spec': {'audiences': ['api'], 'expirationSeconds': 600},
         'status': {'token': '', 'expirationTimestamp': None}},
    ),
    (
        'create poddisruptionbudget pdb --selector=app=web --min-available=2',
        b'k8s\x00\n \n\tpolicy/v1\x12\x13PodDisruptionBudget\x129\n\x13\n\x03pdb\x12\x00\x1a'
        b'\x00"\x00*\x002\x008\x00B\x00\x12\x16\n\x06\x08\x00\x10\x02\x1a\x00\x12\x0c\n\n\n'
        b'\x03app\x12\x03web\x1a\n\x08\x00\x18\x00 \x00(\x000\x00\x1a\x00"\x00',
        {'kind': 'PodDisruptionBudget',
         'apiVersion': 'policy/v1',
         'metadata': {'name': 'pdb', 'creationTimestamp': None},
         'spec': {'minAvailable': 2, 'selector': {'matchLabels': {'app': 'web'}}},
         'status': {'disruptionsAllowed': 0,
                    'currentHealthy': 0,
                    'desiredHealthy': 0,
                    'expectedPods': 0}},
    ),
    (
        'create poddisruptionbudget pdb2 --selector=app=web --max-unavailable=25%',
        b'k8s\x00\n \n\tpolicy/v1\x12\x13PodDisruptionBudget\x12=\n\x14\n\x04pdb2\x12\x00'
        b'\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x19\x12\x0c\n\n\n\x03app\x12\x03web\x1a\t'
        b'\x08\x01\x10\x00\x1a\x0325%\x1a\n\x08\x00\x18\x00 \x00(\x000\x00\x1a\x00"\x00',
        {'kind': 'PodDisruptionBudget',
         'apiVersion': 'policy/v1',
         'metadata': {'name': 'pdb2', 'creationTimestamp': None},
         'spec': {'selector': {'matchLabels': {'app': 'web'}}, 'maxUnavailable': '25%'},
         'status': {'disruptionsAllowed': 0,
                    'currentHealthy': 0,
                    'desiredHealthy': 0,
                    'expectedPods': 0}},
    ),
    (
        'create quota q --hard=cpu=1,memory=1Gi,pods=10 --scopes=BestEffort',
        b'k8s\x00\n\x13\n\x02v1\x12\rResourceQuota\x12N\n\x11\n\x01q\x12\x00\x1a\x00"\x00*'
        b'\x002\x008\x00B\x00\x127\n\n\n\x03cpu\x12\x03\n\x011\n\x0f\n\x06memory\x12\x05\n'
        b'\x031Gi\n\x0c\n\x04pods\x12\x04\n\x0210\x12\nBestEffort\x1a\x00\x1a\x00"\x00',
        {'kind': 'ResourceQuota',
         'apiVersion': 'v1',
         'metadata': {'name': 'q', 'creationTimestamp': None},
         'spec': {'hard': {'cpu': '1', 'memory': '1Gi', 'pods': '10'}, 'scopes': ['BestEffort']},
         'status': {}},
    ),
    (
        'create priorityclass high --value=1000 --global-default=false --description=important --preemption-policy=Never',
        b'k8s\x00\n%\n\x14scheduling.k8s.io/v1\x12\rPriorityClass\x12-\n\x14\n\x04high\x12'
        b'\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x10\xe8\x07\x18\x00"\timportant*\x05Never'
        b'\x1a\x00"\x00',
        {'kind': 'PriorityClass',
         'apiVersion': 'scheduling.k8s.io/v1',
         'metadata': {'name': 'high', 'creationTimestamp': None},
         'value': 1000,
         'description': 'important',
         'preemptionPolicy': 'Never'},
    ),
    (
        'create ingress web --rule=foo.com/bar=svc1:8080,tls=secret1 --class=nginx',
        b'k8s\x00\n\x1f\n\x14networking.k8s.io/v1\x12\x07Ingress\x12e\n\x13\n\x03web\x12\x00'
        b'\x1a\x00"\x00*\x002\x008\x00B\x00\x12J\x12\x12\n\x07foo.com\x12\x07secret1\x1a-\n'
        b'\x07foo.com\x12"\n \n\x1e\n\x04/bar\x12\x0f"\r\n\x04svc1\x12\x05\n\x00\x10\x90?'
        b'\x1a\x05Exact"\x05nginx\x1a\x02\n\x00\x1a\x00"\x00',
        {'kind': 'Ingress',
         'apiVersion': 'networking.k8s.io/v1',
         'metadata': {'name': 'web', 'creationTimestamp': None},
         'spec': {'ingressClassName': 'nginx',
                  'tls': [{'hosts': ['foo.com'], 'secretName': 'secret1'}],
                  'rules': [{'host': 'foo.com',
                             'http': {'paths': [{'path': '/bar',
                                                 'pathType': 'Exact',
                                                 'backend': {'service': {'name': 'svc1',
                                                                         'port': {'number': 8080}}}}]}}]},
         'status': {'loadBalancer': {}}},
    ),
    (
        'auth can-i create pods -n x',
        b'k8s\x00\n2\n\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x129\n\x10'
        b'\n\x00\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x1b\n\x19\n\x01x\x12\x06create'
        b'\x1a\x00"\x00*\x04pods2\x00:\x00\x1a\x08\x08\x00\x12\x00\x1a\x00 \x00\x1a\x00"\x00',
        {'kind': 'SelfSubjectAccessReview',
         'apiVersion': 'authorization.k8s.io/v1',
         'metadata': {'creationTimestamp': None},
         'spec': {'resourceAttributes': {'namespace': 'x', 'verb': 'create', 'resource': 'pods'}},
         'status': {'allowed': False}},
    ),
    (
        'auth can-i get /healthz',
        b'k8s\x00\n2\n\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12/\n\x10'
        b'\n\x00\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x11\x12\x0f\n\x08/healthz\x12'
        b'\x03get\x1a\x08\x08\x00\x12\x00\x1a\x00 \x00\x1a\x00"\x00',
        {'kind': 'SelfSubjectAccessReview',
         'apiVersion': 'authorization.k8s.io/v1',
         'metadata': {'creationTimestamp': None},
         'spec': {'nonResourceAttributes': {'path': '/healthz', 'verb': 'get'}},
         'status': {'allowed': False}},
    ),
    (
        'auth whoami',
        b'k8s\x00\n-\n\x18authentication.k8s.io/v1\x12\x11SelfSubjectReview\x12\x1a\n\x10\n'
        b'\x00\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x06\n\x04\n\x00\x12\x00\x1a\x00"'
        b'\x00',
        {'kind': 'SelfSubjectReview',
         'apiVersion': 'authentication.k8s.io/v1',
         'metadata': {'creationTimestamp': None},
         'status': {'userInfo': {}}},
    ),
    (
        'create role reader --verb=get,list,watch --resource=pods,deployments.apps,pods/log --resource-name=web',
        b'k8s\x00\n$\n\x1crbac.authorization.k8s.io/v1\x12\x04Role\x12o\n\x16\n\x06reader'
        b'\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12)\n\x03get\n\x04list\n\x05watch\x12'
        b'\x00\x1a\x04pods\x1a\x08pods/log"\x03web\x12*\n\x03get\n\x04list\n\x05watch\x12'
        b'\x04apps\x1a\x0bdeployments"\x03web\x1a\x00"\x00',
        {'kind': 'Role',
         'apiVersion': 'rbac.authorization.k8s.io/v1',
         'metadata': {'name': 'reader', 'creationTimestamp': None},
         'rules': [{'verbs': ['get', 'list', 'watch'],
                    'apiGroups': [''],
                    'resources': ['pods', 'pods/log'],
                    'resourceNames': ['web']},
                   {'verbs': ['get', 'list', 'watch'],
                    'apiGroups': ['apps'],
                    'resources': ['deployments'],
                    'resourceNames': ['web']}]},
    ),
    (
        'auth can-i list deployments.apps --subresource=scale -n x',
        b'k8s\x00\n2\n\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12G\n\x10'
        b'\n\x00\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12)\n\'\n\x01x\x12\x04list\x1a'
        b'\x04apps"\x00*\x0bdeployments2\x05scale:\x00\x1a\x08\x08\x00\x12\x00\x1a\x00 \x00'
        b'\x1a\x00"\x00',
        {'kind': 'SelfSubjectAccessReview',
         'apiVersion': 'authorization.k8s.io/v1',
         'metadata': {'creationTimestamp': None},
         'spec': {'resourceAttributes': {'namespace': 'x',
                                         'verb': 'list',
                                         'group': 'apps',
                                         'resource': 'deployments',
                                         'subresource': 'scale'}},
         'status': {'allowed': False}},
    ),
]


@pytest.mark.parametrize(("command", "body", "expected"), KUBECTL_BODIES,
                         ids=[command.split(" --")[0] for command, _, _ in KUBECTL_BODIES])
def test_kubectl_bodies_decode_to_the_json_of_the_same_object(command, body, expected):
    assert body.startswith(b"k8s\x00")
    assert protobuf.decode(body) == expected


def test_a_deployment_from_kubectl_keeps_its_replicas_and_image():
    body = next(body for command, body, _ in KUBECTL_BODIES if command.startswith("create deployment"))
    deployment = protobuf.decode(body)
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


# ---------------------------------------------------------------------------------------------
# A small encoder, to build the bodies kubectl does not send


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers as two's complement: ten bytes
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: int | str | bytes) -> bytes:
    """A varint field for ints and bools, a length-delimited one for text and bytes."""
    if isinstance(value, (bool, int)):
        return varint(number << 3) + varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def message(*fields: bytes) -> bytes:
    return b"".join(fields)


def entry(key: str, value: str | bytes) -> bytes:
    return message(field(1, key), field(2, value))


def body(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = message(field(1, api_version), field(2, kind))
    return b"k8s\x00" + message(field(1, type_meta), field(2, raw))


def test_a_negative_int32_travels_as_a_ten_byte_varint_and_decodes():
    assert len(varint(-5)) == 10
    spec = message(field(2, message(field(1, "app"), field(2, "busybox"))), field(25, -5))
    pod = protobuf.decode(body("v1", "Pod", message(field(1, message(field(1, "p"))), field(2, spec))))
    assert pod["spec"] == {"containers": [{"name": "app", "image": "busybox"}], "priority": -5}


def test_times_are_rfc3339_seconds_and_micro_times_keep_six_fraction_digits():
    seconds = 1795687200  # 2026-11-26T10:00:00Z
    time = message(field(1, seconds), field(2, 500_000_000))
    micro = message(field(1, seconds), field(2, 123_456_789))
    event = message(
        field(1, message(field(1, "web.1"), field(3, "default"))),
        field(2, message(field(1, "Pod"), field(3, "web"))),
        field(3, "Started"),
        field(6, time),
        field(7, time),
        field(8, 1),
        field(10, micro),
    )
    decoded = protobuf.decode(body("v1", "Event", event))
    assert decoded["firstTimestamp"] == "2026-11-26T10:00:00Z"  # Time keeps whole seconds
    assert decoded["lastTimestamp"] == "2026-11-26T10:00:00Z"
    assert decoded["eventTime"] == "2026-11-26T10:00:00.123456Z"
    assert decoded["count"] == 1
    assert decoded["involvedObject"] == {"kind": "Pod", "name": "web"}


def test_an_empty_time_message_is_the_zero_time_and_json_null():
    namespace = message(field(1, message(field(1, "demo"), field(8, b""))))
    assert protobuf.decode(body("v1", "Namespace", namespace))["metadata"] == {
        "name": "demo", "creationTimestamp": None}


def test_an_events_v1_event_and_a_lease_decode_their_micro_times_and_pointers():
    micro = message(field(1, 1795687200), field(2, 7_000))
    event = protobuf.decode(body("events.k8s.io/v1", "Event", message(
        field(1, message(field(1, "e1"))), field(2, micro), field(4, "kubelet"), field(7, "Pulled"),
        field(11, "Normal"))))
    assert event["eventTime"] == "2026-11-26T10:00:00.000007Z"
    assert (event["reportingController"], event["reason"], event["type"]) == ("kubelet", "Pulled", "Normal")
    lease = protobuf.decode(body("coordination.k8s.io/v1", "Lease", message(
        field(1, message(field(1, "leader"))),
        field(2, message(field(1, "node-a"), field(2, 0), field(3, micro), field(5, 3))))))
    # leaseDurationSeconds is a pointer: its zero is written, unlike omitempty scalars
    assert lease["spec"] == {"holderIdentity": "node-a", "leaseDurationSeconds": 0,
                             "acquireTime": "2026-11-26T10:00:00.000007Z", "leaseTransitions": 3}


def test_zero_values_of_omitempty_fields_are_dropped_and_pointers_and_required_ones_kept():
    owner = message(field(1, "ReplicaSet"), field(3, "web-1"), field(4, "u1"), field(5, "apps/v1"),
                    field(6, False))
    metadata = message(field(1, "web-1-x"), field(2, ""), field(7, 0), field(13, owner))
    spec = message(field(2, message(field(1, "app"), field(2, "nginx"), field(5, ""))),
                   field(11, False), field(4, 0))
    pod = protobuf.decode(body("v1", "Pod", message(field(1, metadata), field(2, spec))))
    assert pod["metadata"] == {"name": "web-1-x", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u1", "controller": False}]}
    assert pod["spec"] == {"containers": [{"name": "app", "image": "nginx"}],
                           "terminationGracePeriodSeconds": 0}


def test_int_or_string_decodes_as_a_number_or_a_name():
    def port(number, target):
        return field(1, message(field(3, number), field(4, target)))
    spec = message(port(80, message(field(1, 1), field(3, "http"))), port(81, message(field(2, 8081))))
    service = protobuf.decode(body("v1", "Service", message(field(2, spec))))
    assert service["spec"]["ports"] == [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]


def test_repeated_int32_decodes_packed_and_unpacked():
    def rule(values: bytes) -> bytes:
        on_exit_codes = message(field(2, "In"), values)
        return field(1, message(field(1, "FailJob"), field(2, on_exit_codes)))
    packed = field(3, varint(1) + varint(42))
    unpacked = field(3, 1) + field(3, 42)
    for values in (packed, unpacked):
        spec = message(field(11, message(rule(values))))
        job = protobuf.decode(body("batch/v1", "Job", message(field(2, spec))))
        assert job["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"] == {
            "operator": "In", "values": [1, 42]}


def test_embedded_structs_are_nested_messages_whose_fields_are_promoted():
    config_map_source = message(field(1, message(field(1, "settings"))), field(3, 420))
    volume = message(field(1, "config"), field(2, message(field(19, config_map_source))))
    debugger = message(field(1, message(field(1, "debugger"), field(2, "busybox"))), field(2, "app"))
    spec = message(field(1, volume), field(34, debugger))
    pod = protobuf.decode(body("v1", "Pod", message(field(2, spec))))
    assert pod["spec"]["volumes"] == [
        {"name": "config", "configMap": {"name": "settings", "defaultMode": 420}}]
    assert pod["spec"]["ephemeralContainers"] == [
        {"name": "debugger", "image": "busybox", "targetContainerName": "app"}]


def test_resources_are_quantity_strings_and_secret_data_is_base64():
    limits = field(1, entry("cpu", message(field(1, "500m")))) + field(1, entry("memory", message(field(1, "1Gi"))))
    container = message(field(1, "app"), field(2, "nginx"), field(8, limits))
    pod = protobuf.decode(body("v1", "Pod", message(field(2, message(field(2, container))))))
    assert pod["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m", "memory": "1Gi"}}
    secret = protobuf.decode(body("v1", "Secret", message(field(2, entry("key", b"\x00\xffhi")))))
    assert secret["data"] == {"key": "AP9oaQ=="}


def test_managed_fields_carry_fields_v1_as_parsed_json():
    fields_v1 = message(field(1, b'{"f:data":{"f:a":{}}}'))
    managed = message(field(1, "kubectl"), field(2, "Update"), field(3, "v1"), field(6, "FieldsV1"),
                      field(7, fields_v1))
    config_map = protobuf.decode(body("v1", "ConfigMap", message(field(1, message(field(17, managed))))))
    assert config_map["metadata"]["managedFields"] == [
        {"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:a": {}}}}]


def test_subject_access_review_extra_is_a_map_of_lists():
    extra = entry("scopes", message(field(1, "read"), field(1, "write")))
    attributes = message(field(1, "x"), field(2, "create"), field(5, "pods"))
    spec = message(field(1, attributes), field(3, "alice"), field(4, "devs"), field(5, extra))
    review = protobuf.decode(body("authorization.k8s.io/v1", "SubjectAccessReview", message(field(2, spec))))
    assert review["spec"] == {
        "resourceAttributes": {"namespace": "x", "verb": "create", "resource": "pods"},
        "user": "alice", "groups": ["devs"], "extra": {"scopes": ["read", "write"]}}


def test_delete_options_decode_under_any_group_version_and_inside_an_eviction():
    options = message(field(1, 0), field(4, "Foreground"), field(5, "All"))
    expected = {"gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "dryRun": ["All"]}
    assert protobuf.decode(body("apps/v1", "DeleteOptions", options)) == {
        "kind": "DeleteOptions", "apiVersion": "apps/v1", **expected}
    eviction = protobuf.decode(body("policy/v1", "Eviction", message(
        field(1, message(field(1, "web-1"), field(3, "default"))), field(2, options))))
    assert eviction == {"kind": "Eviction", "apiVersion": "policy/v1",
                        "metadata": {"name": "web-1", "namespace": "default"}, "deleteOptions": expected}


def test_a_scale_keeps_a_zero_replica_count_out_as_omitempty_does():
    scale = protobuf.decode(body("autoscaling/v1", "Scale", message(
        field(1, message(field(1, "web"))), field(2, message(field(1, 0))))))
    assert scale == {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web"}, "spec": {}}
    scale = protobuf.decode(body("autoscaling/v1", "Scale", message(field(2, message(field(1, 4))))))
    assert scale["spec"] == {"replicas": 4}


def test_fields_the_table_does_not_know_are_skipped():
    unknown = field(900, "future") + varint(901 << 3 | 1) + b"\x00" * 8 + varint(902 << 3 | 5) + b"\x00" * 4
    config_map = protobuf.decode(body("v1", "ConfigMap", message(unknown, field(2, entry("a", "1")))))
    assert config_map == {"kind": "ConfigMap", "apiVersion": "v1", "data": {"a": "1"}}


# ---------------------------------------------------------------------------------------------
# Malformed bodies


NAMESPACE = message(field(1, message(field(1, "demo"))))


@pytest.mark.parametrize(("data", "words"), [
    (b"", "does not appear to be a protobuf message"),
    (b'{"kind": "Namespace"}', "does not appear to be a protobuf message"),
    (b"k8s\x00\x0a\x80", "unexpected EOF"),  # a length varint cut short
    (b"k8s\x00\x08" + b"\xff" * 11, "integer overflow"),
    (b"k8s\x00\x0a\x05\x0a\x02v1", "unexpected EOF"),  # a length beyond the end
    (b"k8s\x00\x0b", "illegal wireType 3"),  # groups are not used by Kubernetes
    (b"k8s\x00\x00\x01", "illegal tag 0"),
    (b"k8s\x00\x08\x01", "wrong wireType = 0 for field typeMeta"),
    (body("v1", "Nothing", b""), 'no kind "Nothing" is registered for version "v1"'),
    (body("apiextensions.k8s.io/v1", "CustomResourceDefinition", b""), 'no kind "CustomResourceDefinition"'),
    (b"k8s\x00" + field(2, NAMESPACE), "Object 'Kind' is missing"),
    (b"k8s\x00" + field(1, field(2, "Namespace")) + field(2, NAMESPACE), "Object 'apiVersion' is missing"),
    (body("v1", "Namespace", NAMESPACE) + field(3, "gzip"), "unsupported content encoding 'gzip'"),
    (body("v1", "Namespace", NAMESPACE) + field(4, "application/json"), "unsupported content type"),
    (body("v1", "Namespace", field(1, 7)), "wrong wireType = 0 for field metadata"),
    (body("v1", "Namespace", field(1, field(1, 7))), "wrong wireType = 0 for field name"),
    (body("v1", "ConfigMap", field(1, field(17, field(7, field(1, b"{nope"))))), "invalid JSON"),
    (body("v1", "Service", field(2, field(1, field(4, field(1, 2))))), "impossible IntOrString.Type 2"),
    (body("v1", "Namespace", field(1, field(8, field(1, 1 << 62)))), "year outside of range"),
])
def test_malformed_bodies_raise_protobuf_errors_that_say_what_is_wrong(data, words):
    with pytest.raises(protobuf.ProtobufError) as caught:
        protobuf.decode(data)
    assert words in str(caught.value)


def test_a_body_that_is_not_bytes_is_a_protobuf_error():
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode("k8s\x00")  # type: ignore[arg-type]


def _decodes_or_refuses(data: bytes) -> None:
    try:
        decoded = protobuf.decode(data)
    except protobuf.ProtobufError:
        return
    json.dumps(decoded, allow_nan=False)  # whatever decodes is JSON


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_after_the_magic_never_raises_anything_but_protobuf_errors(garbage):
    _decodes_or_refuses(b"k8s\x00" + garbage)
    _decodes_or_refuses(garbage)


_NUMBERS = st.integers(1, 45)
_LEAF_FIELDS = st.one_of(
    st.builds(lambda n, v: varint(n << 3) + varint(v), _NUMBERS, st.integers(0, (1 << 64) - 1)),
    st.builds(lambda n, v: field(n, v), _NUMBERS, st.binary(max_size=12)),
    st.builds(lambda n, v: field(n, v), _NUMBERS, st.sampled_from(["", "a", "0", "1Gi", "{}", "[1]"])),
    st.builds(lambda n, v: varint(n << 3 | 1) + v, _NUMBERS, st.binary(min_size=8, max_size=8)),
    st.builds(lambda n, v: varint(n << 3 | 5) + v, _NUMBERS, st.binary(min_size=4, max_size=4)),
)
_MESSAGES = st.recursive(
    st.lists(_LEAF_FIELDS, max_size=4).map(b"".join),
    lambda inner: st.lists(st.one_of(_LEAF_FIELDS, st.builds(field, _NUMBERS, inner)), max_size=6).map(b"".join),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(protobuf.KINDS)), _MESSAGES)
def test_random_well_framed_messages_of_every_kind_decode_or_raise_protobuf_errors(kind_key, raw):
    api_version, _, kind = kind_key.rpartition("/")
    _decodes_or_refuses(body(api_version, kind, raw))


# ---------------------------------------------------------------------------------------------
# The table


def _reachable(qualified: str, seen: set[str]) -> None:
    if qualified in seen:
        return
    seen.add(qualified)
    for f in protobuf.STRUCTS[qualified].fields.values():
        go_type = f.type
        while go_type.shape in ("list", "map"):
            go_type = go_type.elem
        if go_type.shape == "struct":
            _reachable(go_type.struct, seen)


# the kinds kubectl's typed commands and the course's clients send, and the rest of the table
KINDS_SENT = [
    "v1/Namespace", "v1/ConfigMap", "v1/Secret", "v1/ServiceAccount", "v1/Service", "v1/Pod",
    "apps/v1/Deployment", "apps/v1/ReplicaSet", "apps/v1/StatefulSet", "apps/v1/DaemonSet",
    "batch/v1/Job", "batch/v1/CronJob", "rbac.authorization.k8s.io/v1/Role",
    "rbac.authorization.k8s.io/v1/RoleBinding", "rbac.authorization.k8s.io/v1/ClusterRole",
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding", "policy/v1/PodDisruptionBudget",
    "policy/v1/Eviction", "coordination.k8s.io/v1/Lease", "v1/Event", "events.k8s.io/v1/Event",
    "v1/PersistentVolumeClaim", "v1/ResourceQuota", "authorization.k8s.io/v1/SelfSubjectAccessReview",
    "authorization.k8s.io/v1/SubjectAccessReview", "authentication.k8s.io/v1/TokenRequest",
    "authentication.k8s.io/v1/SelfSubjectReview", "autoscaling/v1/Scale",
    "scheduling.k8s.io/v1/PriorityClass", "networking.k8s.io/v1/Ingress",
]


@pytest.mark.parametrize("kind_key", sorted(set(KINDS_SENT) | set(protobuf.KINDS)))
def test_every_field_reachable_from_a_kind_has_a_protobuf_number(kind_key):
    root = protobuf.KINDS[kind_key]
    seen: set[str] = set()
    _reachable(root, seen)
    for qualified in seen:
        slots = protobuf.NUMBERS[qualified]
        numbered = {slot.name for slot in slots.values() if not slot.embedded}
        for slot in slots.values():
            if slot.embedded:
                numbered |= set(protobuf.STRUCTS[slot.name].fields)
        expected = set(protobuf.STRUCTS[qualified].fields)
        if qualified == root or "metadata" in expected or qualified == "meta.v1.DeleteOptions":
            # an embedded TypeMeta has no numbers: the envelope carries the root's
            expected -= {"apiVersion", "kind"}
        assert expected <= numbered, (qualified, expected - numbered)


# ---------------------------------------------------------------------------------------------
# kubectl itself


class _Recorder(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self):  # noqa: N802 (the name http.server calls)
        length = int(self.headers.get("Content-Length") or 0)
        if self.command == "POST":
            self.bodies.append((self.headers.get("Content-Type", ""), self.rfile.read(length)))
        answer = b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"recorded","code":400}'
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.mark.kubectl
def test_what_kubectl_sends_decodes_to_what_kubectl_prints_as_json(tmp_path):
    if not os.path.exists(KUBECTL):
        pytest.skip("kubectl is not installed")
    recorder = type("Recorder", (_Recorder,), {"bodies": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), recorder)
    server.socket = certificates.issue().server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "recorder",
            "clusters": [{"name": "recorder", "cluster": {
                "server": f"https://127.0.0.1:{server.server_address[1]}", "insecure-skip-tls-verify": True}}],
            "users": [{"name": "recorder", "user": {"token": "t"}}],
            "contexts": [{"name": "recorder", "context": {"cluster": "recorder", "user": "recorder"}}],
        }))
        command = ["create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=80"]
        env = dict(os.environ, KUBECONFIG=str(kubeconfig))
        subprocess.run([KUBECTL, *command, "--dry-run=server", "--cache-dir", str(tmp_path / "cache")],
                       env=env, capture_output=True, timeout=60)
        printed = subprocess.run([KUBECTL, *command, "--dry-run=client", "-o", "json"], env=env,
                                 capture_output=True, text=True, timeout=60, check=True)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    content_type, sent = recorder.bodies[-1]
    assert content_type == protobuf.CONTENT_TYPE
    assert protobuf.decode(sent) == json.loads(printed.stdout)
