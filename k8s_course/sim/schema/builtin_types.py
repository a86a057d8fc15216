"""The Go structs behind the built-in kinds, as a compact table (field names, JSON types, patch tags).

Kept by hand in the shape of k8s.io/api v0.36 (Kubernetes 1.36), from which it was drafted.
One block per struct, `<package> <Struct> [structType=atomic] [free]`, then one line per field:

    <jsonName> <type> [patch=<patchStrategy>] [key=<patchMergeKey>] [list=atomic|set|map(k1,k2)]
                      [mapType=atomic] [req]
    ... <Struct>            an embedded (inline) struct whose fields are promoted into this one

Types: string int32 int64 bool float64 quantity intstr time microtime bytes (base64 []byte)
any (free JSON) object (free JSON object), `[]T`, `map[T]` (string keys), a struct `Name` (looked
up in the block's package, then core.v1, then meta.v1) or `Name@package`. A `:Name` suffix gives
Go's name of a named type (`string:RestartPolicy` is `v1.RestartPolicy`), as Go's decoding
errors print it. `free` marks a struct decoded as free JSON (JSONSchemaProps) while still
described for OpenAPI.
"""

STRUCTS = """\
core.v1 Namespace
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec NamespaceSpec
  status NamespaceStatus
meta.v1 ObjectMeta
  name string
  generateName string
  namespace string
  selfLink string
  uid string:types.UID
  resourceVersion string
  generation int64
  creationTimestamp time
  deletionTimestamp time
  deletionGracePeriodSeconds int64
  labels map[string]
  annotations map[string]
  ownerReferences []OwnerReference patch=merge key=uid list=map(uid)
  finalizers []string patch=merge list=set
  managedFields []ManagedFieldsEntry list=atomic
meta.v1 OwnerReference structType=atomic
  apiVersion string req
  kind string req
  name string req
  uid string:types.UID req
  controller bool
  blockOwnerDeletion bool
meta.v1 ManagedFieldsEntry
  manager string
  operation string:ManagedFieldsOperationType
  apiVersion string
  time time
  fieldsType string
  fieldsV1 object
  subresource string
core.v1 NamespaceSpec
  finalizers []string:FinalizerName list=atomic
core.v1 NamespaceStatus
  phase string:NamespacePhase
  conditions []NamespaceCondition patch=merge key=type list=map(type)
core.v1 NamespaceCondition
  type string:NamespaceConditionType req
  status string:ConditionStatus req
  lastTransitionTime time
  reason string
  message string
core.v1 Pod
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec PodSpec
  status PodStatus
core.v1 PodSpec
  volumes []Volume patch=merge,retainKeys key=name list=map(name)
  initContainers []Container patch=merge key=name list=map(name)
  containers []Container patch=merge key=name list=map(name) req
  ephemeralContainers []EphemeralContainer patch=merge key=name list=map(name)
  restartPolicy string:RestartPolicy
  terminationGracePeriodSeconds int64
  activeDeadlineSeconds int64
  dnsPolicy string:DNSPolicy
  nodeSelector map[string] mapType=atomic
  serviceAccountName string
  serviceAccount string
  automountServiceAccountToken bool
  nodeName string
  hostNetwork bool
  hostPID bool
  hostIPC bool
  shareProcessNamespace bool
  securityContext PodSecurityContext
  imagePullSecrets []LocalObjectReference patch=merge key=name list=map(name)
  hostname string
  subdomain string
  affinity Affinity
  schedulerName string
  tolerations []Toleration list=atomic
  hostAliases []HostAlias patch=merge key=ip list=map(ip)
  priorityClassName string
  priority int32
  dnsConfig PodDNSConfig
  readinessGates []PodReadinessGate list=atomic
  runtimeClassName string
  enableServiceLinks bool
  preemptionPolicy string:PreemptionPolicy
  overhead map[quantity]:ResourceList
  topologySpreadConstraints []TopologySpreadConstraint patch=merge key=topologyKey list=map(topologyKey,whenUnsatisfiable)
  setHostnameAsFQDN bool
  os PodOS
  hostUsers bool
  schedulingGates []PodSchedulingGate patch=merge key=name list=map(name)
  resourceClaims []PodResourceClaim patch=merge,retainKeys key=name list=map(name)
  resources ResourceRequirements
  hostnameOverride string
  schedulingGroup PodSchedulingGroup
core.v1 Volume
  name string req
  ... VolumeSource
core.v1 VolumeSource
  hostPath HostPathVolumeSource
  emptyDir EmptyDirVolumeSource
  gcePersistentDisk GCEPersistentDiskVolumeSource
  awsElasticBlockStore AWSElasticBlockStoreVolumeSource
  gitRepo GitRepoVolumeSource
  secret SecretVolumeSource
  nfs NFSVolumeSource
  iscsi ISCSIVolumeSource
  glusterfs GlusterfsVolumeSource
  persistentVolumeClaim PersistentVolumeClaimVolumeSource
  rbd RBDVolumeSource
  flexVolume FlexVolumeSource
  cinder CinderVolumeSource
  cephfs CephFSVolumeSource
  flocker FlockerVolumeSource
  downwardAPI DownwardAPIVolumeSource
  fc FCVolumeSource
  azureFile AzureFileVolumeSource
  configMap ConfigMapVolumeSource
  vsphereVolume VsphereVirtualDiskVolumeSource
  quobyte QuobyteVolumeSource
  azureDisk AzureDiskVolumeSource
  photonPersistentDisk PhotonPersistentDiskVolumeSource
  projected ProjectedVolumeSource
  portworxVolume PortworxVolumeSource
  scaleIO ScaleIOVolumeSource
  storageos StorageOSVolumeSource
  csi CSIVolumeSource
  ephemeral EphemeralVolumeSource
  image ImageVolumeSource
core.v1 HostPathVolumeSource
  path string req
  type string:HostPathType
core.v1 EmptyDirVolumeSource
  medium string:StorageMedium
  sizeLimit quantity
core.v1 GCEPersistentDiskVolumeSource
  pdName string req
  fsType string
  partition int32
  readOnly bool
core.v1 AWSElasticBlockStoreVolumeSource
  volumeID string req
  fsType string
  partition int32
  readOnly bool
core.v1 GitRepoVolumeSource
  repository string req
  revision string
  directory string
core.v1 SecretVolumeSource
  secretName string
  items []KeyToPath list=atomic
  defaultMode int32
  optional bool
core.v1 KeyToPath
  key string req
  path string req
  mode int32
core.v1 NFSVolumeSource
  server string req
  path string req
  readOnly bool
core.v1 ISCSIVolumeSource
  targetPortal string req
  iqn string req
  lun int32 req
  iscsiInterface string
  fsType string
  readOnly bool
  portals []string list=atomic
  chapAuthDiscovery bool
  chapAuthSession bool
  secretRef LocalObjectReference
  initiatorName string
core.v1 LocalObjectReference structType=atomic
  name string
core.v1 GlusterfsVolumeSource
  endpoints string req
  path string req
  readOnly bool
core.v1 PersistentVolumeClaimVolumeSource
  claimName string req
  readOnly bool
core.v1 RBDVolumeSource
  monitors []string list=atomic req
  image string req
  fsType string
  pool string
  user string
  keyring string
  secretRef LocalObjectReference
  readOnly bool
core.v1 FlexVolumeSource
  driver string req
  fsType string
  secretRef LocalObjectReference
  readOnly bool
  options map[string]
core.v1 CinderVolumeSource
  volumeID string req
  fsType string
  readOnly bool
  secretRef LocalObjectReference
core.v1 CephFSVolumeSource
  monitors []string list=atomic req
  path string
  user string
  secretFile string
  secretRef LocalObjectReference
  readOnly bool
core.v1 FlockerVolumeSource
  datasetName string
  datasetUUID string
core.v1 DownwardAPIVolumeSource
  items []DownwardAPIVolumeFile list=atomic
  defaultMode int32
core.v1 DownwardAPIVolumeFile
  path string req
  fieldRef ObjectFieldSelector
  resourceFieldRef ResourceFieldSelector
  mode int32
core.v1 ObjectFieldSelector structType=atomic
  apiVersion string
  fieldPath string req
core.v1 ResourceFieldSelector structType=atomic
  containerName string
  resource string req
  divisor quantity
core.v1 FCVolumeSource
  targetWWNs []string list=atomic
  lun int32
  fsType string
  readOnly bool
  wwids []string list=atomic
core.v1 AzureFileVolumeSource
  secretName string req
  shareName string req
  readOnly bool
core.v1 ConfigMapVolumeSource
  ... LocalObjectReference
  items []KeyToPath list=atomic
  defaultMode int32
  optional bool
core.v1 VsphereVirtualDiskVolumeSource
  volumePath string req
  fsType string
  storagePolicyName string
  storagePolicyID string
core.v1 QuobyteVolumeSource
  registry string req
  volume string req
  readOnly bool
  user string
  group string
  tenant string
core.v1 AzureDiskVolumeSource
  diskName string req
  diskURI string req
  cachingMode string:AzureDataDiskCachingMode
  fsType string
  readOnly bool
  kind string:AzureDataDiskKind
core.v1 PhotonPersistentDiskVolumeSource
  pdID string req
  fsType string
core.v1 ProjectedVolumeSource
  sources []VolumeProjection list=atomic
  defaultMode int32
core.v1 VolumeProjection
  secret SecretProjection
  downwardAPI DownwardAPIProjection
  configMap ConfigMapProjection
  serviceAccountToken ServiceAccountTokenProjection
  clusterTrustBundle ClusterTrustBundleProjection
  podCertificate PodCertificateProjection
core.v1 SecretProjection
  ... LocalObjectReference
  items []KeyToPath list=atomic
  optional bool
core.v1 DownwardAPIProjection
  items []DownwardAPIVolumeFile list=atomic
core.v1 ConfigMapProjection
  ... LocalObjectReference
  items []KeyToPath list=atomic
  optional bool
core.v1 ServiceAccountTokenProjection
  audience string
  expirationSeconds int64
  path string req
core.v1 ClusterTrustBundleProjection
  name string
  signerName string
  labelSelector LabelSelector@meta.v1
  optional bool
  path string req
meta.v1 LabelSelector structType=atomic
  matchLabels map[string]
  matchExpressions []LabelSelectorRequirement list=atomic
meta.v1 LabelSelectorRequirement
  key string req
  operator string:LabelSelectorOperator req
  values []string list=atomic
core.v1 PodCertificateProjection
  signerName string req
  keyType string req
  maxExpirationSeconds int32
  credentialBundlePath string
  keyPath string
  certificateChainPath string
  userAnnotations map[string]
core.v1 PortworxVolumeSource
  volumeID string req
  fsType string
  readOnly bool
core.v1 ScaleIOVolumeSource
  gateway string req
  system string req
  secretRef LocalObjectReference req
  sslEnabled bool
  protectionDomain string
  storagePool string
  storageMode string
  volumeName string
  fsType string
  readOnly bool
core.v1 StorageOSVolumeSource
  volumeName string
  volumeNamespace string
  fsType string
  readOnly bool
  secretRef LocalObjectReference
core.v1 CSIVolumeSource
  driver string req
  readOnly bool
  fsType string
  volumeAttributes map[string]
  nodePublishSecretRef LocalObjectReference
core.v1 EphemeralVolumeSource
  volumeClaimTemplate PersistentVolumeClaimTemplate
core.v1 PersistentVolumeClaimTemplate
  metadata ObjectMeta@meta.v1
  spec PersistentVolumeClaimSpec req
core.v1 PersistentVolumeClaimSpec
  accessModes []string:PersistentVolumeAccessMode list=atomic
  selector LabelSelector@meta.v1
  resources VolumeResourceRequirements
  volumeName string
  storageClassName string
  volumeMode string:PersistentVolumeMode
  dataSource TypedLocalObjectReference
  dataSourceRef TypedObjectReference
  volumeAttributesClassName string
core.v1 VolumeResourceRequirements
  limits map[quantity]:ResourceList
  requests map[quantity]:ResourceList
core.v1 TypedLocalObjectReference structType=atomic
  apiGroup string
  kind string req
  name string req
core.v1 TypedObjectReference
  apiGroup string
  kind string req
  name string req
  namespace string
core.v1 ImageVolumeSource
  reference string
  pullPolicy string:PullPolicy
core.v1 Container
  name string req
  image string
  command []string list=atomic
  args []string list=atomic
  workingDir string
  ports []ContainerPort patch=merge key=containerPort list=map(containerPort,protocol)
  envFrom []EnvFromSource list=atomic
  env []EnvVar patch=merge key=name list=map(name)
  resources ResourceRequirements
  resizePolicy []ContainerResizePolicy list=atomic
  restartPolicy string:ContainerRestartPolicy
  restartPolicyRules []ContainerRestartRule list=atomic
  volumeMounts []VolumeMount patch=merge key=mountPath list=map(mountPath)
  volumeDevices []VolumeDevice patch=merge key=devicePath list=map(devicePath)
  livenessProbe Probe
  readinessProbe Probe
  startupProbe Probe
  lifecycle Lifecycle
  terminationMessagePath string
  terminationMessagePolicy string:TerminationMessagePolicy
  imagePullPolicy string:PullPolicy
  securityContext SecurityContext
  stdin bool
  stdinOnce bool
  tty bool
core.v1 ContainerPort
  name string
  hostPort int32
  containerPort int32 req
  protocol string:Protocol
  hostIP string
core.v1 EnvFromSource
  prefix string
  configMapRef ConfigMapEnvSource
  secretRef SecretEnvSource
core.v1 ConfigMapEnvSource
  ... LocalObjectReference
  optional bool
core.v1 SecretEnvSource
  ... LocalObjectReference
  optional bool
core.v1 EnvVar
  name string req
  value string
  valueFrom EnvVarSource
core.v1 EnvVarSource
  fieldRef ObjectFieldSelector
  resourceFieldRef ResourceFieldSelector
  configMapKeyRef ConfigMapKeySelector
  secretKeyRef SecretKeySelector
  fileKeyRef FileKeySelector
core.v1 ConfigMapKeySelector structType=atomic
  ... LocalObjectReference
  key string req
  optional bool
core.v1 SecretKeySelector structType=atomic
  ... LocalObjectReference
  key string req
  optional bool
core.v1 FileKeySelector structType=atomic
  volumeName string req
  path string req
  key string req
  optional bool
core.v1 ResourceRequirements
  limits map[quantity]:ResourceList
  requests map[quantity]:ResourceList
  claims []ResourceClaim list=map(name)
core.v1 ResourceClaim
  name string req
  request string
core.v1 ContainerResizePolicy
  resourceName string:ResourceName req
  restartPolicy string:ResourceResizeRestartPolicy req
core.v1 ContainerRestartRule
  action string:ContainerRestartRuleAction req
  exitCodes ContainerRestartRuleOnExitCodes
core.v1 ContainerRestartRuleOnExitCodes
  operator string:ContainerRestartRuleOnExitCodesOperator req
  values []int32 list=set
core.v1 VolumeMount
  name string req
  readOnly bool
  recursiveReadOnly string:RecursiveReadOnlyMode
  mountPath string req
  subPath string
  mountPropagation string:MountPropagationMode
  subPathExpr string
core.v1 VolumeDevice
  name string req
  devicePath string req
core.v1 Probe
  ... ProbeHandler
  initialDelaySeconds int32
  timeoutSeconds int32
  periodSeconds int32
  successThreshold int32
  failureThreshold int32
  terminationGracePeriodSeconds int64
core.v1 ProbeHandler
  exec ExecAction
  httpGet HTTPGetAction
  tcpSocket TCPSocketAction
  grpc GRPCAction
core.v1 ExecAction
  command []string list=atomic
core.v1 HTTPGetAction
  path string
  port intstr req
  host string
  scheme string:URIScheme
  httpHeaders []HTTPHeader list=atomic
core.v1 HTTPHeader
  name string req
  value string req
core.v1 TCPSocketAction
  port intstr req
  host string
core.v1 GRPCAction
  port int32 req
  service string
core.v1 Lifecycle
  postStart LifecycleHandler
  preStop LifecycleHandler
  stopSignal string:Signal
core.v1 LifecycleHandler
  exec ExecAction
  httpGet HTTPGetAction
  tcpSocket TCPSocketAction
  sleep SleepAction
core.v1 SleepAction
  seconds int64 req
core.v1 SecurityContext
  capabilities Capabilities
  privileged bool
  seLinuxOptions SELinuxOptions
  windowsOptions WindowsSecurityContextOptions
  runAsUser int64
  runAsGroup int64
  runAsNonRoot bool
  readOnlyRootFilesystem bool
  allowPrivilegeEscalation bool
  procMount string:ProcMountType
  seccompProfile SeccompProfile
  appArmorProfile AppArmorProfile
core.v1 Capabilities
  add []string:Capability list=atomic
  drop []string:Capability list=atomic
core.v1 SELinuxOptions
  user string
  role string
  type string
  level string
core.v1 WindowsSecurityContextOptions
  gmsaCredentialSpecName string
  gmsaCredentialSpec string
  runAsUserName string
  hostProcess bool
core.v1 SeccompProfile
  type string:SeccompProfileType req
  localhostProfile string
core.v1 AppArmorProfile
  type string:AppArmorProfileType req
  localhostProfile string
core.v1 EphemeralContainer
  ... EphemeralContainerCommon
  targetContainerName string
core.v1 EphemeralContainerCommon
  name string req
  image string
  command []string list=atomic
  args []string list=atomic
  workingDir string
  ports []ContainerPort patch=merge key=containerPort list=map(containerPort,protocol)
  envFrom []EnvFromSource list=atomic
  env []EnvVar patch=merge key=name list=map(name)
  resources ResourceRequirements
  resizePolicy []ContainerResizePolicy list=atomic
  restartPolicy string:ContainerRestartPolicy
  restartPolicyRules []ContainerRestartRule list=atomic
  volumeMounts []VolumeMount patch=merge key=mountPath list=map(mountPath)
  volumeDevices []VolumeDevice patch=merge key=devicePath list=map(devicePath)
  livenessProbe Probe
  readinessProbe Probe
  startupProbe Probe
  lifecycle Lifecycle
  terminationMessagePath string
  terminationMessagePolicy string:TerminationMessagePolicy
  imagePullPolicy string:PullPolicy
  securityContext SecurityContext
  stdin bool
  stdinOnce bool
  tty bool
core.v1 PodSecurityContext
  seLinuxOptions SELinuxOptions
  windowsOptions WindowsSecurityContextOptions
  runAsUser int64
  runAsGroup int64
  runAsNonRoot bool
  supplementalGroups []int64 list=atomic
  supplementalGroupsPolicy string:SupplementalGroupsPolicy
  fsGroup int64
  sysctls []Sysctl list=atomic
  fsGroupChangePolicy string:PodFSGroupChangePolicy
  seccompProfile SeccompProfile
  appArmorProfile AppArmorProfile
  seLinuxChangePolicy string:PodSELinuxChangePolicy
core.v1 Sysctl
  name string req
  value string req
core.v1 Affinity
  nodeAffinity NodeAffinity
  podAffinity PodAffinity
  podAntiAffinity PodAntiAffinity
core.v1 NodeAffinity
  requiredDuringSchedulingIgnoredDuringExecution NodeSelector
  preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm list=atomic
core.v1 NodeSelector structType=atomic
  nodeSelectorTerms []NodeSelectorTerm list=atomic req
core.v1 NodeSelectorTerm structType=atomic
  matchExpressions []NodeSelectorRequirement list=atomic
  matchFields []NodeSelectorRequirement list=atomic
core.v1 NodeSelectorRequirement
  key string req
  operator string:NodeSelectorOperator req
  values []string list=atomic
core.v1 PreferredSchedulingTerm
  weight int32 req
  preference NodeSelectorTerm req
core.v1 PodAffinity
  requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm list=atomic
  preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm list=atomic
core.v1 PodAffinityTerm
  labelSelector LabelSelector@meta.v1
  namespaces []string list=atomic
  topologyKey string req
  namespaceSelector LabelSelector@meta.v1
  matchLabelKeys []string list=atomic
  mismatchLabelKeys []string list=atomic
core.v1 WeightedPodAffinityTerm
  weight int32 req
  podAffinityTerm PodAffinityTerm req
core.v1 PodAntiAffinity
  requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm list=atomic
  preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm list=atomic
core.v1 Toleration
  key string
  operator string:TolerationOperator
  value string
  effect string:TaintEffect
  tolerationSeconds int64
core.v1 HostAlias
  ip string req
  hostnames []string list=atomic
core.v1 PodDNSConfig
  nameservers []string list=atomic
  searches []string list=atomic
  options []PodDNSConfigOption list=atomic
core.v1 PodDNSConfigOption
  name string
  value string
core.v1 PodReadinessGate
  conditionType string:PodConditionType req
core.v1 TopologySpreadConstraint
  maxSkew int32 req
  topologyKey string req
  whenUnsatisfiable string:UnsatisfiableConstraintAction req
  labelSelector LabelSelector@meta.v1
  minDomains int32
  nodeAffinityPolicy string:NodeInclusionPolicy
  nodeTaintsPolicy string:NodeInclusionPolicy
  matchLabelKeys []string list=atomic
core.v1 PodOS
  name string:OSName req
core.v1 PodSchedulingGate
  name string req
core.v1 PodResourceClaim
  name string req
  resourceClaimName string
  resourceClaimTemplateName string
core.v1 PodSchedulingGroup
  podGroupName string
core.v1 PodStatus
  observedGeneration int64
  phase string:PodPhase
  conditions []PodCondition patch=merge key=type list=map(type)
  message string
  reason string
  nominatedNodeName string
  hostIP string
  hostIPs []HostIP patch=merge key=ip list=atomic
  podIP string
  podIPs []PodIP patch=merge key=ip list=map(ip)
  startTime time
  initContainerStatuses []ContainerStatus list=atomic
  containerStatuses []ContainerStatus list=atomic
  qosClass string:PodQOSClass
  ephemeralContainerStatuses []ContainerStatus list=atomic
  resize string:PodResizeStatus
  resourceClaimStatuses []PodResourceClaimStatus patch=merge,retainKeys key=name list=map(name)
  extendedResourceClaimStatus PodExtendedResourceClaimStatus
  allocatedResources map[quantity]:ResourceList
  resources ResourceRequirements
  nodeAllocatableResourceClaimStatuses []NodeAllocatableResourceClaimStatus list=atomic
core.v1 PodCondition
  type string:PodConditionType req
  observedGeneration int64
  status string:ConditionStatus req
  lastProbeTime time
  lastTransitionTime time
  reason string
  message string
core.v1 HostIP
  ip string req
core.v1 PodIP
  ip string req
core.v1 ContainerStatus
  name string req
  state ContainerState
  lastState ContainerState
  ready bool req
  restartCount int32 req
  image string req
  imageID string req
  containerID string
  started bool
  allocatedResources map[quantity]:ResourceList
  resources ResourceRequirements
  volumeMounts []VolumeMountStatus patch=merge key=mountPath list=map(mountPath)
  user ContainerUser
  allocatedResourcesStatus []ResourceStatus patch=merge key=name list=map(name)
  stopSignal string:Signal
core.v1 ContainerState
  waiting ContainerStateWaiting
  running ContainerStateRunning
  terminated ContainerStateTerminated
core.v1 ContainerStateWaiting
  reason string
  message string
core.v1 ContainerStateRunning
  startedAt time
core.v1 ContainerStateTerminated
  exitCode int32 req
  signal int32
  reason string
  message string
  startedAt time
  finishedAt time
  containerID string
core.v1 VolumeMountStatus
  name string req
  mountPath string req
  readOnly bool
  recursiveReadOnly string:RecursiveReadOnlyMode
  volumeStatus VolumeStatus
core.v1 VolumeStatus
  image ImageVolumeStatus
core.v1 ImageVolumeStatus
  imageRef string req
core.v1 ContainerUser
  linux LinuxContainerUser
core.v1 LinuxContainerUser
  uid int64 req
  gid int64 req
  supplementalGroups []int64 list=atomic
core.v1 ResourceStatus
  name string:ResourceName req
  resources []ResourceHealth list=map(resourceID)
core.v1 ResourceHealth
  resourceID string:ResourceID req
  health string:ResourceHealthStatus
  message string
core.v1 PodResourceClaimStatus
  name string req
  resourceClaimName string
core.v1 PodExtendedResourceClaimStatus
  requestMappings []ContainerExtendedResourceRequest list=atomic req
  resourceClaimName string req
core.v1 ContainerExtendedResourceRequest
  containerName string req
  resourceName string req
  requestName string req
core.v1 NodeAllocatableResourceClaimStatus
  resourceClaimName string req
  containers []string list=set
  resources map[quantity] req
core.v1 Service
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec ServiceSpec
  status ServiceStatus
core.v1 ServiceSpec
  ports []ServicePort patch=merge key=port list=map(port,protocol)
  selector map[string] mapType=atomic
  clusterIP string
  clusterIPs []string list=atomic
  type string:ServiceType
  externalIPs []string list=atomic
  sessionAffinity string:ServiceAffinity
  loadBalancerIP string
  loadBalancerSourceRanges []string list=atomic
  externalName string
  externalTrafficPolicy string:ServiceExternalTrafficPolicy
  healthCheckNodePort int32
  publishNotReadyAddresses bool
  sessionAffinityConfig SessionAffinityConfig
  ipFamilies []string:IPFamily list=atomic
  ipFamilyPolicy string:IPFamilyPolicy
  allocateLoadBalancerNodePorts bool
  loadBalancerClass string
  internalTrafficPolicy string:ServiceInternalTrafficPolicy
  trafficDistribution string
core.v1 ServicePort
  name string
  protocol string:Protocol
  appProtocol string
  port int32 req
  targetPort intstr
  nodePort int32
core.v1 SessionAffinityConfig
  clientIP ClientIPConfig
core.v1 ClientIPConfig
  timeoutSeconds int32
core.v1 ServiceStatus
  loadBalancer LoadBalancerStatus
  conditions []Condition@meta.v1 patch=merge key=type list=map(type)
core.v1 LoadBalancerStatus
  ingress []LoadBalancerIngress list=atomic
core.v1 LoadBalancerIngress
  ip string
  hostname string
  ipMode string:LoadBalancerIPMode
  ports []PortStatus list=atomic
core.v1 PortStatus
  port int32 req
  protocol string:Protocol req
  error string
meta.v1 Condition
  type string req
  status string:ConditionStatus req
  observedGeneration int64
  lastTransitionTime time req
  reason string req
  message string req
core.v1 Endpoints
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  subsets []EndpointSubset list=atomic
core.v1 EndpointSubset
  addresses []EndpointAddress list=atomic
  notReadyAddresses []EndpointAddress list=atomic
  ports []EndpointPort list=atomic
core.v1 EndpointAddress structType=atomic
  ip string req
  hostname string
  nodeName string
  targetRef ObjectReference
core.v1 ObjectReference structType=atomic
  kind string
  namespace string
  name string
  uid string:types.UID
  apiVersion string
  resourceVersion string
  fieldPath string
core.v1 EndpointPort structType=atomic
  name string
  port int32 req
  protocol string:Protocol
  appProtocol string
core.v1 ConfigMap
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  immutable bool
  data map[string]
  binaryData map[bytes]
core.v1 Secret
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  immutable bool
  data map[bytes]
  stringData map[string]
  type string:SecretType
core.v1 ServiceAccount
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  secrets []ObjectReference patch=merge key=name list=map(name)
  imagePullSecrets []LocalObjectReference list=atomic
  automountServiceAccountToken bool
core.v1 Event
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1 req
  involvedObject ObjectReference req
  reason string
  message string
  source EventSource
  firstTimestamp time
  lastTimestamp time
  count int32
  type string
  eventTime microtime
  series EventSeries
  action string
  related ObjectReference
  reportingComponent string
  reportingInstance string
core.v1 EventSource
  component string
  host string
core.v1 EventSeries
  count int32
  lastObservedTime microtime
core.v1 Node
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec NodeSpec
  status NodeStatus
core.v1 NodeSpec
  podCIDR string
  podCIDRs []string patch=merge list=set
  providerID string
  unschedulable bool
  taints []Taint list=atomic
  configSource NodeConfigSource
  externalID string
core.v1 Taint
  key string req
  value string
  effect string:TaintEffect req
  timeAdded time
core.v1 NodeConfigSource
  configMap ConfigMapNodeConfigSource
core.v1 ConfigMapNodeConfigSource
  namespace string req
  name string req
  uid string:types.UID
  resourceVersion string
  kubeletConfigKey string req
core.v1 NodeStatus
  capacity map[quantity]:ResourceList
  allocatable map[quantity]:ResourceList
  phase string:NodePhase
  conditions []NodeCondition patch=merge key=type list=map(type)
  addresses []NodeAddress patch=merge key=type list=map(type)
  daemonEndpoints NodeDaemonEndpoints
  nodeInfo NodeSystemInfo
  images []ContainerImage list=atomic
  volumesInUse []string:UniqueVolumeName list=atomic
  volumesAttached []AttachedVolume list=atomic
  config NodeConfigStatus
  runtimeHandlers []NodeRuntimeHandler list=atomic
  features NodeFeatures
  declaredFeatures []string list=atomic
core.v1 NodeCondition
  type string:NodeConditionType req
  status string:ConditionStatus req
  lastHeartbeatTime time
  lastTransitionTime time
  reason string
  message string
core.v1 NodeAddress
  type string:NodeAddressType req
  address string req
core.v1 NodeDaemonEndpoints
  kubeletEndpoint DaemonEndpoint
core.v1 DaemonEndpoint
  Port int32 req
core.v1 NodeSystemInfo
  machineID string req
  systemUUID string req
  bootID string req
  kernelVersion string req
  osImage string req
  containerRuntimeVersion string req
  kubeletVersion string req
  kubeProxyVersion string req
  operatingSystem string req
  architecture string req
  swap NodeSwapStatus
core.v1 NodeSwapStatus
  capacity int64
core.v1 ContainerImage
  names []string list=atomic
  sizeBytes int64
core.v1 AttachedVolume
  name string:UniqueVolumeName req
  devicePath string req
core.v1 NodeConfigStatus
  assigned NodeConfigSource
  active NodeConfigSource
  lastKnownGood NodeConfigSource
  error string
core.v1 NodeRuntimeHandler
  name string
  features NodeRuntimeHandlerFeatures
core.v1 NodeRuntimeHandlerFeatures
  recursiveReadOnlyMounts bool
  userNamespaces bool
core.v1 NodeFeatures
  supplementalGroupsPolicy bool
core.v1 PersistentVolumeClaim
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec PersistentVolumeClaimSpec
  status PersistentVolumeClaimStatus
core.v1 PersistentVolumeClaimStatus
  phase string:PersistentVolumeClaimPhase
  accessModes []string:PersistentVolumeAccessMode list=atomic
  capacity map[quantity]:ResourceList
  conditions []PersistentVolumeClaimCondition patch=merge key=type list=map(type)
  allocatedResources map[quantity]:ResourceList
  allocatedResourceStatuses map[string:ClaimResourceStatus] mapType=granular
  currentVolumeAttributesClassName string
  modifyVolumeStatus ModifyVolumeStatus
core.v1 PersistentVolumeClaimCondition
  type string:PersistentVolumeClaimConditionType req
  status string:ConditionStatus req
  lastProbeTime time
  lastTransitionTime time
  reason string
  message string
core.v1 ModifyVolumeStatus
  targetVolumeAttributesClassName string
  status string:PersistentVolumeClaimModifyVolumeStatus req
core.v1 PersistentVolume
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec PersistentVolumeSpec
  status PersistentVolumeStatus
core.v1 PersistentVolumeSpec
  capacity map[quantity]:ResourceList
  ... PersistentVolumeSource
  accessModes []string:PersistentVolumeAccessMode list=atomic
  claimRef ObjectReference structType=granular
  persistentVolumeReclaimPolicy string:PersistentVolumeReclaimPolicy
  storageClassName string
  mountOptions []string list=atomic
  volumeMode string:PersistentVolumeMode
  nodeAffinity VolumeNodeAffinity
  volumeAttributesClassName string
core.v1 PersistentVolumeSource
  gcePersistentDisk GCEPersistentDiskVolumeSource
  awsElasticBlockStore AWSElasticBlockStoreVolumeSource
  hostPath HostPathVolumeSource
  glusterfs GlusterfsPersistentVolumeSource
  nfs NFSVolumeSource
  rbd RBDPersistentVolumeSource
  iscsi ISCSIPersistentVolumeSource
  cinder CinderPersistentVolumeSource
  cephfs CephFSPersistentVolumeSource
  fc FCVolumeSource
  flocker FlockerVolumeSource
  flexVolume FlexPersistentVolumeSource
  azureFile AzureFilePersistentVolumeSource
  vsphereVolume VsphereVirtualDiskVolumeSource
  quobyte QuobyteVolumeSource
  azureDisk AzureDiskVolumeSource
  photonPersistentDisk PhotonPersistentDiskVolumeSource
  portworxVolume PortworxVolumeSource
  scaleIO ScaleIOPersistentVolumeSource
  local LocalVolumeSource
  storageos StorageOSPersistentVolumeSource
  csi CSIPersistentVolumeSource
core.v1 GlusterfsPersistentVolumeSource
  endpoints string req
  path string req
  readOnly bool
  endpointsNamespace string
core.v1 RBDPersistentVolumeSource
  monitors []string list=atomic req
  image string req
  fsType string
  pool string
  user string
  keyring string
  secretRef SecretReference
  readOnly bool
core.v1 SecretReference structType=atomic
  name string
  namespace string
core.v1 ISCSIPersistentVolumeSource
  targetPortal string req
  iqn string req
  lun int32 req
  iscsiInterface string
  fsType string
  readOnly bool
  portals []string list=atomic
  chapAuthDiscovery bool
  chapAuthSession bool
  secretRef SecretReference
  initiatorName string
core.v1 CinderPersistentVolumeSource
  volumeID string req
  fsType string
  readOnly bool
  secretRef SecretReference
core.v1 CephFSPersistentVolumeSource
  monitors []string list=atomic req
  path string
  user string
  secretFile string
  secretRef SecretReference
  readOnly bool
core.v1 FlexPersistentVolumeSource
  driver string req
  fsType string
  secretRef SecretReference
  readOnly bool
  options map[string]
core.v1 AzureFilePersistentVolumeSource
  secretName string req
  shareName string req
  readOnly bool
  secretNamespace string
core.v1 ScaleIOPersistentVolumeSource
  gateway string req
  system string req
  secretRef SecretReference req
  sslEnabled bool
  protectionDomain string
  storagePool string
  storageMode string
  volumeName string
  fsType string
  readOnly bool
core.v1 LocalVolumeSource
  path string req
  fsType string
core.v1 StorageOSPersistentVolumeSource
  volumeName string
  volumeNamespace string
  fsType string
  readOnly bool
  secretRef ObjectReference
core.v1 CSIPersistentVolumeSource
  driver string req
  volumeHandle string req
  readOnly bool
  fsType string
  volumeAttributes map[string]
  controllerPublishSecretRef SecretReference
  nodeStageSecretRef SecretReference
  nodePublishSecretRef SecretReference
  controllerExpandSecretRef SecretReference
  nodeExpandSecretRef SecretReference
core.v1 VolumeNodeAffinity
  required NodeSelector
core.v1 PersistentVolumeStatus
  phase string:PersistentVolumePhase
  message string
  reason string
  lastPhaseTransitionTime time
core.v1 Binding
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  target ObjectReference req
apps.v1 Deployment
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec DeploymentSpec
  status DeploymentStatus
apps.v1 DeploymentSpec
  replicas int32
  selector LabelSelector@meta.v1 req
  template PodTemplateSpec@core.v1 req
  strategy DeploymentStrategy patch=retainKeys
  minReadySeconds int32
  revisionHistoryLimit int32
  paused bool
  progressDeadlineSeconds int32
core.v1 PodTemplateSpec
  metadata ObjectMeta@meta.v1
  spec PodSpec
apps.v1 DeploymentStrategy
  type string:DeploymentStrategyType
  rollingUpdate RollingUpdateDeployment
apps.v1 RollingUpdateDeployment
  maxUnavailable intstr
  maxSurge intstr
apps.v1 DeploymentStatus
  observedGeneration int64
  replicas int32
  updatedReplicas int32
  readyReplicas int32
  availableReplicas int32
  unavailableReplicas int32
  terminatingReplicas int32
  conditions []DeploymentCondition patch=merge key=type list=map(type)
  collisionCount int32
apps.v1 DeploymentCondition
  type string:DeploymentConditionType req
  status string:ConditionStatus req
  lastUpdateTime time
  lastTransitionTime time
  reason string
  message string
apps.v1 ReplicaSet
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec ReplicaSetSpec
  status ReplicaSetStatus
apps.v1 ReplicaSetSpec
  replicas int32
  minReadySeconds int32
  selector LabelSelector@meta.v1 req
  template PodTemplateSpec@core.v1
apps.v1 ReplicaSetStatus
  replicas int32 req
  fullyLabeledReplicas int32
  readyReplicas int32
  availableReplicas int32
  terminatingReplicas int32
  observedGeneration int64
  conditions []ReplicaSetCondition patch=merge key=type list=map(type)
apps.v1 ReplicaSetCondition
  type string:ReplicaSetConditionType req
  status string:ConditionStatus req
  lastTransitionTime time
  reason string
  message string
apps.v1 StatefulSet
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec StatefulSetSpec
  status StatefulSetStatus
apps.v1 StatefulSetSpec
  replicas int32
  selector LabelSelector@meta.v1 req
  template PodTemplateSpec@core.v1 req
  volumeClaimTemplates []PersistentVolumeClaim@core.v1 list=atomic
  serviceName string
  podManagementPolicy string:PodManagementPolicyType
  updateStrategy StatefulSetUpdateStrategy
  revisionHistoryLimit int32
  minReadySeconds int32
  persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy
  ordinals StatefulSetOrdinals
apps.v1 StatefulSetUpdateStrategy
  type string:StatefulSetUpdateStrategyType
  rollingUpdate RollingUpdateStatefulSetStrategy
apps.v1 RollingUpdateStatefulSetStrategy
  partition int32
  maxUnavailable intstr
apps.v1 StatefulSetPersistentVolumeClaimRetentionPolicy
  whenDeleted string:PersistentVolumeClaimRetentionPolicyType
  whenScaled string:PersistentVolumeClaimRetentionPolicyType
apps.v1 StatefulSetOrdinals
  start int32
apps.v1 StatefulSetStatus
  observedGeneration int64
  replicas int32 req
  readyReplicas int32
  currentReplicas int32
  updatedReplicas int32
  currentRevision string
  updateRevision string
  collisionCount int32
  conditions []StatefulSetCondition patch=merge key=type list=map(type)
  availableReplicas int32
apps.v1 StatefulSetCondition
  type string:StatefulSetConditionType req
  status string:ConditionStatus req
  lastTransitionTime time
  reason string
  message string
apps.v1 DaemonSet
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec DaemonSetSpec
  status DaemonSetStatus
apps.v1 DaemonSetSpec
  selector LabelSelector@meta.v1 req
  template PodTemplateSpec@core.v1 req
  updateStrategy DaemonSetUpdateStrategy
  minReadySeconds int32
  revisionHistoryLimit int32
apps.v1 DaemonSetUpdateStrategy
  type string:DaemonSetUpdateStrategyType
  rollingUpdate RollingUpdateDaemonSet
apps.v1 RollingUpdateDaemonSet
  maxUnavailable intstr
  maxSurge intstr
apps.v1 DaemonSetStatus
  currentNumberScheduled int32 req
  numberMisscheduled int32 req
  desiredNumberScheduled int32 req
  numberReady int32 req
  observedGeneration int64
  updatedNumberScheduled int32
  numberAvailable int32
  numberUnavailable int32
  collisionCount int32
  conditions []DaemonSetCondition patch=merge key=type list=map(type)
apps.v1 DaemonSetCondition
  type string:DaemonSetConditionType req
  status string:ConditionStatus req
  lastTransitionTime time
  reason string
  message string
apps.v1 ControllerRevision
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  data any
  revision int64 req
batch.v1 Job
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec JobSpec
  status JobStatus
batch.v1 JobSpec
  parallelism int32
  completions int32
  activeDeadlineSeconds int64
  podFailurePolicy PodFailurePolicy
  successPolicy SuccessPolicy
  backoffLimit int32
  backoffLimitPerIndex int32
  maxFailedIndexes int32
  selector LabelSelector@meta.v1
  manualSelector bool
  template PodTemplateSpec@core.v1 req
  ttlSecondsAfterFinished int32
  completionMode string:CompletionMode
  suspend bool
  podReplacementPolicy string:PodReplacementPolicy
  managedBy string
batch.v1 PodFailurePolicy
  rules []PodFailurePolicyRule list=atomic req
batch.v1 PodFailurePolicyRule
  action string:PodFailurePolicyAction req
  onExitCodes PodFailurePolicyOnExitCodesRequirement
  onPodConditions []PodFailurePolicyOnPodConditionsPattern list=atomic
batch.v1 PodFailurePolicyOnExitCodesRequirement
  containerName string
  operator string:PodFailurePolicyOnExitCodesOperator req
  values []int32 list=set req
batch.v1 PodFailurePolicyOnPodConditionsPattern
  type string:PodConditionType req
  status string:ConditionStatus
batch.v1 SuccessPolicy
  rules []SuccessPolicyRule list=atomic req
batch.v1 SuccessPolicyRule
  succeededIndexes string
  succeededCount int32
batch.v1 JobStatus
  conditions []JobCondition patch=merge key=type list=atomic
  startTime time
  completionTime time
  active int32
  succeeded int32
  failed int32
  terminating int32
  completedIndexes string
  failedIndexes string
  uncountedTerminatedPods UncountedTerminatedPods
  ready int32
batch.v1 JobCondition
  type string:JobConditionType req
  status string:ConditionStatus req
  lastProbeTime time
  lastTransitionTime time
  reason string
  message string
batch.v1 UncountedTerminatedPods
  succeeded []string:types.UID list=set
  failed []string:types.UID list=set
batch.v1 CronJob
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec CronJobSpec req
  status CronJobStatus
batch.v1 CronJobSpec
  schedule string req
  timeZone string
  startingDeadlineSeconds int64
  concurrencyPolicy string:ConcurrencyPolicy
  suspend bool
  jobTemplate JobTemplateSpec req
  successfulJobsHistoryLimit int32
  failedJobsHistoryLimit int32
batch.v1 JobTemplateSpec
  metadata ObjectMeta@meta.v1
  spec JobSpec
batch.v1 CronJobStatus
  active []ObjectReference@core.v1 list=atomic
  lastScheduleTime time
  lastSuccessfulTime time
discovery.v1 EndpointSlice
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  addressType string:AddressType req
  endpoints []Endpoint list=atomic
  ports []EndpointPort list=atomic
discovery.v1 Endpoint
  addresses []string list=set req
  conditions EndpointConditions
  hostname string
  targetRef ObjectReference@core.v1
  deprecatedTopology map[string]
  nodeName string
  zone string
  hints EndpointHints
discovery.v1 EndpointConditions
  ready bool
  serving bool
  terminating bool
discovery.v1 EndpointHints
  forZones []ForZone list=atomic
  forNodes []ForNode list=atomic
discovery.v1 ForZone
  name string req
discovery.v1 ForNode
  name string req
discovery.v1 EndpointPort structType=atomic
  name string
  protocol string:Protocol
  port int32
  appProtocol string
coordination.v1 Lease
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec LeaseSpec
coordination.v1 LeaseSpec
  holderIdentity string
  leaseDurationSeconds int32
  acquireTime microtime
  renewTime microtime
  leaseTransitions int32
  strategy string:CoordinatedLeaseStrategy
  preferredHolder string
rbac.v1 Role
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  rules []PolicyRule list=atomic
rbac.v1 PolicyRule
  verbs []string list=atomic req
  apiGroups []string list=atomic
  resources []string list=atomic
  resourceNames []string list=atomic
  nonResourceURLs []string list=atomic
rbac.v1 RoleBinding
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  subjects []Subject list=atomic
  roleRef RoleRef req
rbac.v1 Subject structType=atomic
  kind string req
  apiGroup string
  name string req
  namespace string
rbac.v1 RoleRef structType=atomic
  apiGroup string
  kind string req
  name string req
rbac.v1 ClusterRole
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  rules []PolicyRule list=atomic
  aggregationRule AggregationRule
rbac.v1 AggregationRule
  clusterRoleSelectors []LabelSelector@meta.v1 list=atomic
rbac.v1 ClusterRoleBinding
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  subjects []Subject list=atomic
  roleRef RoleRef req
policy.v1 PodDisruptionBudget
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec PodDisruptionBudgetSpec
  status PodDisruptionBudgetStatus
policy.v1 PodDisruptionBudgetSpec
  minAvailable intstr
  selector LabelSelector@meta.v1 patch=replace
  maxUnavailable intstr
  unhealthyPodEvictionPolicy string:UnhealthyPodEvictionPolicyType
policy.v1 PodDisruptionBudgetStatus
  observedGeneration int64
  disruptedPods map[time]
  disruptionsAllowed int32
  currentHealthy int32
  desiredHealthy int32
  expectedPods int32
  conditions []Condition@meta.v1 patch=merge key=type list=map(type)
policy.v1 Eviction
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  deleteOptions DeleteOptions@meta.v1
meta.v1 DeleteOptions
  apiVersion string
  kind string
  gracePeriodSeconds int64
  preconditions Preconditions
  orphanDependents bool
  propagationPolicy string:DeletionPropagation
  dryRun []string list=atomic
  ignoreStoreReadErrorWithClusterBreakingPotential bool
meta.v1 Preconditions
  uid string:types.UID
  resourceVersion string
events.v1 Event
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  eventTime microtime req
  series EventSeries
  reportingController string
  reportingInstance string
  action string
  reason string
  regarding ObjectReference@core.v1
  related ObjectReference@core.v1
  note string
  type string
  deprecatedSource EventSource@core.v1
  deprecatedFirstTimestamp time
  deprecatedLastTimestamp time
  deprecatedCount int32
events.v1 EventSeries
  count int32 req
  lastObservedTime microtime req
authorization.v1 SelfSubjectAccessReview
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec SelfSubjectAccessReviewSpec req
  status SubjectAccessReviewStatus
authorization.v1 SelfSubjectAccessReviewSpec
  resourceAttributes ResourceAttributes
  nonResourceAttributes NonResourceAttributes
authorization.v1 ResourceAttributes
  namespace string
  verb string
  group string
  version string
  resource string
  subresource string
  name string
  fieldSelector FieldSelectorAttributes
  labelSelector LabelSelectorAttributes
authorization.v1 FieldSelectorAttributes
  rawSelector string
  requirements []FieldSelectorRequirement@meta.v1 list=atomic
meta.v1 FieldSelectorRequirement
  key string req
  operator string:FieldSelectorOperator req
  values []string list=atomic
authorization.v1 LabelSelectorAttributes
  rawSelector string
  requirements []LabelSelectorRequirement@meta.v1 list=atomic
authorization.v1 NonResourceAttributes
  path string
  verb string
authorization.v1 SubjectAccessReviewStatus
  allowed bool req
  denied bool
  reason string
  evaluationError string
authorization.v1 SubjectAccessReview
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec SubjectAccessReviewSpec req
  status SubjectAccessReviewStatus
authorization.v1 SubjectAccessReviewSpec
  resourceAttributes ResourceAttributes
  nonResourceAttributes NonResourceAttributes
  user string
  groups []string list=atomic
  extra map[[]string:ExtraValue]
  uid string
autoscaling.v1 Scale
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec ScaleSpec
  status ScaleStatus
autoscaling.v1 ScaleSpec
  replicas int32
autoscaling.v1 ScaleStatus
  replicas int32 req
  selector string
apiextensions.v1 CustomResourceDefinition
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  spec CustomResourceDefinitionSpec req
  status CustomResourceDefinitionStatus
apiextensions.v1 CustomResourceDefinitionSpec
  group string req
  names CustomResourceDefinitionNames req
  scope string:ResourceScope req
  versions []CustomResourceDefinitionVersion list=atomic req
  conversion CustomResourceConversion
  preserveUnknownFields bool
apiextensions.v1 CustomResourceDefinitionNames
  plural string req
  singular string
  shortNames []string list=atomic
  kind string req
  listKind string
  categories []string list=atomic
apiextensions.v1 CustomResourceDefinitionVersion
  name string req
  served bool req
  storage bool req
  deprecated bool
  deprecationWarning string
  schema CustomResourceValidation
  subresources CustomResourceSubresources
  additionalPrinterColumns []CustomResourceColumnDefinition list=atomic
  selectableFields []SelectableField list=atomic
apiextensions.v1 CustomResourceValidation
  openAPIV3Schema JSONSchemaProps
apiextensions.v1 CustomResourceSubresources
  status CustomResourceSubresourceStatus
  scale CustomResourceSubresourceScale
apiextensions.v1 CustomResourceSubresourceScale
  specReplicasPath string req
  statusReplicasPath string req
  labelSelectorPath string
apiextensions.v1 CustomResourceColumnDefinition
  name string req
  type string req
  format string
  description string
  priority int32
  jsonPath string req
apiextensions.v1 SelectableField
  jsonPath string req
apiextensions.v1 CustomResourceConversion
  strategy string:ConversionStrategyType req
  webhook WebhookConversion
apiextensions.v1 WebhookConversion
  clientConfig WebhookClientConfig
  conversionReviewVersions []string list=atomic req
apiextensions.v1 WebhookClientConfig
  url string
  service ServiceReference
  caBundle bytes
apiextensions.v1 ServiceReference
  namespace string req
  name string req
  path string
  port int32
apiextensions.v1 CustomResourceDefinitionStatus
  conditions []CustomResourceDefinitionCondition list=map(type)
  acceptedNames CustomResourceDefinitionNames
  storedVersions []string list=atomic
  observedGeneration int64
apiextensions.v1 CustomResourceDefinitionCondition
  type string:CustomResourceDefinitionConditionType req
  status string:ConditionStatus req
  lastTransitionTime time
  reason string
  message string
  observedGeneration int64
apiextensions.v1 CustomResourceSubresourceStatus
apiextensions.v1 JSONSchemaProps free
  id string
  $schema string:JSONSchemaURL
  $ref string
  description string
  type string
  format string
  title string
  default any
  maximum float64
  exclusiveMaximum bool
  minimum float64
  exclusiveMinimum bool
  maxLength int64
  minLength int64
  pattern string
  maxItems int64
  minItems int64
  uniqueItems bool
  multipleOf float64
  enum []any list=atomic
  maxProperties int64
  minProperties int64
  required []string list=atomic
  items any
  allOf []JSONSchemaProps list=atomic
  oneOf []JSONSchemaProps list=atomic
  anyOf []JSONSchemaProps list=atomic
  not JSONSchemaProps
  properties map[JSONSchemaProps]
  additionalProperties any
  patternProperties map[JSONSchemaProps]
  dependencies map[any]:JSONSchemaDependencies
  additionalItems any
  definitions map[JSONSchemaProps]:JSONSchemaDefinitions
  externalDocs ExternalDocumentation
  example any
  nullable bool
  x-kubernetes-preserve-unknown-fields bool
  x-kubernetes-embedded-resource bool
  x-kubernetes-int-or-string bool
  x-kubernetes-list-map-keys []string list=atomic
  x-kubernetes-list-type string
  x-kubernetes-map-type string
  x-kubernetes-validations []ValidationRule patch=merge key=rule list=map(rule)
apiextensions.v1 ValidationRule
  rule string req
  message string
  messageExpression string
  reason string:FieldValueErrorReason
  fieldPath string
  optionalOldSelf bool
apiextensions.v1 ExternalDocumentation
  description string
  url string
storage.v1 StorageClass
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  provisioner string req
  parameters map[string]
  reclaimPolicy string:PersistentVolumeReclaimPolicy
  mountOptions []string list=atomic
  allowVolumeExpansion bool
  volumeBindingMode string:VolumeBindingMode
  allowedTopologies []TopologySelectorTerm@core.v1 list=atomic
core.v1 TopologySelectorTerm
  matchLabelExpressions []TopologySelectorLabelRequirement list=atomic
core.v1 TopologySelectorLabelRequirement
  key string req
  values []string list=atomic
admissionregistration.v1 MutatingWebhookConfiguration
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  webhooks []MutatingWebhook patch=merge key=name list=map(name)
admissionregistration.v1 MutatingWebhook
  name string req
  clientConfig WebhookClientConfig req
  rules []RuleWithOperations list=atomic
  failurePolicy string:FailurePolicyType
  matchPolicy string:MatchPolicyType
  namespaceSelector LabelSelector@meta.v1
  objectSelector LabelSelector@meta.v1
  sideEffects string:SideEffectClass req
  timeoutSeconds int32
  admissionReviewVersions []string list=atomic req
  reinvocationPolicy string:ReinvocationPolicyType
  matchConditions []MatchCondition patch=merge key=name list=map(name)
admissionregistration.v1 ValidatingWebhookConfiguration
  apiVersion string
  kind string
  metadata ObjectMeta@meta.v1
  webhooks []ValidatingWebhook patch=merge key=name list=map(name)
admissionregistration.v1 ValidatingWebhook
  name string req
  clientConfig WebhookClientConfig req
  rules []RuleWithOperations list=atomic
  failurePolicy string:FailurePolicyType
  matchPolicy string:MatchPolicyType
  namespaceSelector LabelSelector@meta.v1
  objectSelector LabelSelector@meta.v1
  sideEffects string:SideEffectClass req
  timeoutSeconds int32
  admissionReviewVersions []string list=atomic req
  matchConditions []MatchCondition patch=merge key=name list=map(name)
admissionregistration.v1 RuleWithOperations
  operations []string:OperationType list=atomic
  apiGroups []string list=atomic
  apiVersions []string list=atomic
  resources []string list=atomic
  scope string:ScopeType
admissionregistration.v1 WebhookClientConfig
  url string
  service ServiceReference
  caBundle bytes
admissionregistration.v1 ServiceReference
  namespace string req
  name string req
  path string
  port int32
admissionregistration.v1 MatchCondition
  name string req
  expression string req
"""
