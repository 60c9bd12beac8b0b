package deploy_test

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/streamhunt/streamhunt/internal/config"
	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
)

const baseDir = "kubernetes/base"

// kustomization mirrors the kustomize.config.k8s.io/v1beta1 fields the base uses.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// serviceMonitor mirrors the monitoring.coreos.com/v1 fields the base uses.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// manifests is the base, every object decoded strictly into its API type.
type manifests struct {
	kustomization  kustomization
	namespace      corev1.Namespace
	serviceAccount corev1.ServiceAccount
	configMaps     map[string]corev1.ConfigMap
	deployment     appsv1.Deployment
	pdb            policyv1.PodDisruptionBudget
	service        corev1.Service
	serviceMonitor serviceMonitor
	scaledObject   scaledObject
	triggerAuth    triggerAuthentication
}

func loadBase(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{configMaps: map[string]corev1.ConfigMap{}}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(baseDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	strict := func(name string, b []byte, into any) {
		if err := decodeStrict(b, into); err != nil {
			t.Fatalf("%s does not decode strictly into its API type: %v", name, err)
		}
	}
	strict("kustomization.yaml", read("kustomization.yaml"), &m.kustomization)

	files, _ := filepath.Glob(filepath.Join(baseDir, "*.yaml"))
	var onDisk []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			onDisk = append(onDisk, b)
		}
	}
	listed := slices.Clone(m.kustomization.Resources)
	sort.Strings(listed)
	if !slices.Equal(onDisk, listed) {
		t.Fatalf("kustomization.yaml resources %v, files %v: every manifest must be listed, and only those", listed, onDisk)
	}

	seen := map[string]bool{}
	for _, name := range m.kustomization.Resources {
		b := read(name)
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(b, &tm); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kind := tm.APIVersion + "/" + tm.Kind
		switch kind {
		case "v1/Namespace":
			strict(name, b, &m.namespace)
		case "v1/ServiceAccount":
			strict(name, b, &m.serviceAccount)
		case "v1/ConfigMap":
			var cm corev1.ConfigMap
			strict(name, b, &cm)
			m.configMaps[cm.Name] = cm
		case "apps/v1/Deployment":
			strict(name, b, &m.deployment)
		case "policy/v1/PodDisruptionBudget":
			strict(name, b, &m.pdb)
		case "v1/Service":
			strict(name, b, &m.service)
		case "monitoring.coreos.com/v1/ServiceMonitor":
			strict(name, b, &m.serviceMonitor)
		case "keda.sh/v1alpha1/ScaledObject":
			so, err := decodeScaledObject(b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			m.scaledObject = *so
		case "keda.sh/v1alpha1/TriggerAuthentication":
			ta, err := decodeTriggerAuthentication(b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			m.triggerAuth = *ta
		default:
			t.Fatalf("%s: kind %s has no strict decoder in this test; add one", name, kind)
		}
		if kind != "v1/ConfigMap" && seen[kind] {
			t.Fatalf("%s: a second %s", name, kind)
		}
		seen[kind] = true
	}
	for _, want := range []string{"v1/ServiceAccount", "apps/v1/Deployment", "policy/v1/PodDisruptionBudget", "v1/Service",
		"monitoring.coreos.com/v1/ServiceMonitor", "keda.sh/v1alpha1/ScaledObject", "keda.sh/v1alpha1/TriggerAuthentication", "v1/ConfigMap"} {
		if !seen[want] {
			t.Fatalf("the base has no %s", want)
		}
	}
	return m
}

func (m *manifests) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := m.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", len(cs))
	}
	return cs[0]
}

// runConfig returns the run configuration the pod reads, loaded as the
// binary loads it.
func (m *manifests) runConfig(t *testing.T) *config.Config {
	t.Helper()
	c := m.container(t)
	cfgPath := c.Args[len(c.Args)-1]
	for _, vm := range c.VolumeMounts {
		rel, err := filepath.Rel(vm.MountPath, cfgPath)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		for _, v := range m.deployment.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := m.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Fatalf("volume %s names ConfigMap %s, which the base does not define", v.Name, v.ConfigMap.Name)
			}
			key := rel
			for _, it := range v.ConfigMap.Items {
				if it.Path == rel {
					key = it.Key
				}
			}
			data, ok := cm.Data[key]
			if !ok {
				continue
			}
			cfg, err := config.Parse([]byte(data), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatalf("ConfigMap %s key %s does not load as a run configuration:\n%v", cm.Name, key, err)
			}
			return cfg
		}
	}
	t.Fatalf("no volume mount provides %s from a ConfigMap", cfgPath)
	return nil
}

// Field report 3 (microsoft/azure-container-apps#972): the ScaledObject sets checkpointStrategy blobMetadata and the container, consumer group and namespace the consumer writes.
func TestKubernetesBase(t *testing.T) {
	m := loadBase(t)
	c := m.container(t)
	pod := m.deployment.Spec.Template
	cfg := m.runConfig(t)

	t.Run("the run configuration in the ConfigMap loads and validates", func(t *testing.T) {
		if cfg.Source.Namespace == "" || cfg.Checkpoints.AccountURL == "" {
			t.Errorf("the base should authenticate with workload identity (source.namespace, checkpoints.accountUrl), got %+v %+v", cfg.Source, cfg.Checkpoints)
		}
		if cfg.Source.ConnectionString != "" || len(cfg.Secrets()) != 0 {
			t.Error("a ConfigMap must not hold secrets")
		}
	})

	t.Run("the pod runs the image's command on the mounted config", func(t *testing.T) {
		want := []string{"run", "--config", "/etc/streamhunt/config.yaml"}
		if !slices.Equal(c.Args, want) {
			t.Errorf("args %v, want the Dockerfile's CMD %v", c.Args, want)
		}
		for _, vm := range c.VolumeMounts {
			if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name }) {
				t.Errorf("volume mount %s has no volume", vm.Name)
			}
		}
		for _, v := range pod.Spec.Volumes {
			if v.ConfigMap == nil {
				continue
			}
			cm, ok := m.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("volume %s names ConfigMap %s, which the base does not define", v.Name, v.ConfigMap.Name)
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("volume %s maps key %s, which ConfigMap %s lacks", v.Name, it.Key, cm.Name)
				}
			}
		}
	})

	t.Run("the rules directory in the config is the mounted rules ConfigMap and its rules load", func(t *testing.T) {
		var rulesMount string
		for _, vm := range c.VolumeMounts {
			if slices.Contains(cfg.Rules.Paths, vm.MountPath) {
				rulesMount = vm.Name
			}
		}
		if rulesMount == "" {
			t.Fatalf("rules.paths %v is not a mounted volume", cfg.Rules.Paths)
		}
		var cmName string
		for _, v := range pod.Spec.Volumes {
			if v.Name == rulesMount && v.ConfigMap != nil {
				cmName = v.ConfigMap.Name
			}
		}
		dir := t.TempDir()
		for k, v := range m.configMaps[cmName].Data {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rs, err := rules.Load(dir)
		if err != nil || len(rs) != len(m.configMaps[cmName].Data) {
			t.Fatalf("rules in ConfigMap %s: %d loaded of %d, %v", cmName, len(rs), len(m.configMaps[cmName].Data), err)
		}
		if _, err := pipeline.New(rs, pipeline.Options{}); err != nil {
			t.Errorf("rules in ConfigMap %s do not compile: %v", cmName, err)
		}
	})

	t.Run("probes and the metrics port are the ops server's", func(t *testing.T) {
		_, port, _ := strings.Cut(cfg.Ops.Listen, ":")
		listen, _ := strconv.Atoi(port)
		var metricsPort *corev1.ContainerPort
		for i, p := range c.Ports {
			if p.Name == "metrics" {
				metricsPort = &c.Ports[i]
			}
		}
		if metricsPort == nil || int(metricsPort.ContainerPort) != listen {
			t.Fatalf("container port metrics = %+v, want ops.listen's %d", metricsPort, listen)
		}
		probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
		wantPath := map[string]string{"startup": ops.PathHealthz, "liveness": ops.PathHealthz, "readiness": ops.PathReadyz}
		for name, p := range probes {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("no HTTP %s probe", name)
				continue
			}
			if p.HTTPGet.Path != wantPath[name] || p.HTTPGet.Port != intstr.FromString("metrics") {
				t.Errorf("%s probe %s on %s, want %s on metrics", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), wantPath[name])
			}
		}
	})

	t.Run("the pod runs as the image's non-root user with a read-only root filesystem", func(t *testing.T) {
		psc, sc := pod.Spec.SecurityContext, c.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
			t.Errorf("pod securityContext %+v, want runAsNonRoot and the image's uid 65532", psc)
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
			!slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("container securityContext %+v, want a read-only root, no privilege escalation, all capabilities dropped", sc)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("resources %+v, want CPU and memory requests and a memory limit", c.Resources)
		}
		for _, e := range c.Env {
			if e.Name != "GOMEMLIMIT" {
				continue
			}
			q, err := resource.ParseQuantity(strings.TrimSuffix(e.Value, "B"))
			if err != nil || q.Cmp(*c.Resources.Limits.Memory()) >= 0 {
				t.Errorf("GOMEMLIMIT %q must be below the memory limit %s, or the kernel kills before the GC works harder", e.Value, c.Resources.Limits.Memory())
			}
		}
	})

	t.Run("selectors match the pods and the service the monitor scrapes", func(t *testing.T) {
		podLabels := pod.Labels
		matches := func(sel *metav1.LabelSelector, labels map[string]string) bool {
			if sel == nil || len(sel.MatchLabels) == 0 {
				return false
			}
			for k, v := range sel.MatchLabels {
				if labels[k] != v {
					return false
				}
			}
			return true
		}
		if !matches(m.deployment.Spec.Selector, podLabels) {
			t.Error("the Deployment's selector does not match its pods")
		}
		if !matches(m.pdb.Spec.Selector, podLabels) {
			t.Error("the PodDisruptionBudget's selector does not match the pods")
		}
		if !matches(&metav1.LabelSelector{MatchLabels: m.service.Spec.Selector}, podLabels) {
			t.Error("the Service's selector does not match the pods")
		}
		if !matches(&m.serviceMonitor.Spec.Selector, m.service.Labels) {
			t.Error("the ServiceMonitor's selector does not match the Service")
		}
		if len(m.service.Spec.Ports) != 1 || m.service.Spec.Ports[0].TargetPort != intstr.FromString("metrics") {
			t.Errorf("service ports %+v, want one targeting the container port metrics", m.service.Spec.Ports)
		}
		for _, ep := range m.serviceMonitor.Spec.Endpoints {
			if ep.Port != m.service.Spec.Ports[0].Name || ep.Path != ops.PathMetrics {
				t.Errorf("ServiceMonitor endpoint %s%s, want port %s path %s", ep.Port, ep.Path, m.service.Spec.Ports[0].Name, ops.PathMetrics)
			}
		}
		if m.pdb.Spec.MaxUnavailable == nil && m.pdb.Spec.MinAvailable == nil {
			t.Error("the PodDisruptionBudget bounds nothing")
		}
	})

	t.Run("workload identity is wired from the service account to KEDA", func(t *testing.T) {
		if pod.Spec.ServiceAccountName != m.serviceAccount.Name {
			t.Errorf("pods run as %q, the base defines service account %q", pod.Spec.ServiceAccountName, m.serviceAccount.Name)
		}
		if pod.Labels["azure.workload.identity/use"] != "true" {
			t.Error(`pods lack the label azure.workload.identity/use: "true"`)
		}
		clientID := m.serviceAccount.Annotations["azure.workload.identity/client-id"]
		pi := m.triggerAuth.Spec.PodIdentity
		if clientID == "" || pi == nil || pi.Provider != "azure-workload" || pi.IdentityID == nil || *pi.IdentityID != clientID {
			t.Errorf("TriggerAuthentication podIdentity %+v, want azure-workload with the service account's client id %q", pi, clientID)
		}
	})

	t.Run("KEDA scales this Deployment on every hub the config reads, with the checkpoints it writes", func(t *testing.T) {
		so := m.scaledObject
		if so.Spec.ScaleTargetRef.Name != m.deployment.Name || so.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("scaleTargetRef %+v, want Deployment %s", so.Spec.ScaleTargetRef, m.deployment.Name)
		}
		nsLabel, _, _ := strings.Cut(cfg.Source.FullyQualifiedNamespace, ".")
		u, err := url.Parse(cfg.Checkpoints.AccountURL)
		if err != nil {
			t.Fatal(err)
		}
		account, _, _ := strings.Cut(u.Host, ".")
		var hubs []string
		for _, tr := range so.Spec.Triggers {
			md := tr.Metadata
			if tr.Type != "azure-eventhub" {
				t.Errorf("trigger %s has type %s", tr.Name, tr.Type)
				continue
			}
			if tr.AuthenticationRef == nil || tr.AuthenticationRef.Name != m.triggerAuth.Name {
				t.Errorf("trigger %s does not use TriggerAuthentication %s", tr.Name, m.triggerAuth.Name)
			}
			want := map[string]string{
				"checkpointStrategy": "blobMetadata",
				"consumerGroup":      strings.ToLower(cfg.Source.ConsumerGroup),
				"eventHubNamespace":  nsLabel,
				"storageAccountName": account,
				"blobContainer":      cfg.Checkpoints.Container,
			}
			for k, v := range want {
				if md[k] != v {
					t.Errorf("trigger %s: %s = %q, want %q (from the run config)", tr.Name, k, md[k], v)
				}
			}
			if md["consumerGroup"] != cfg.Source.ConsumerGroup {
				t.Errorf("trigger %s: consumer group %q is not spelt as the config's %q in lower case: KEDA would look for checkpoints the consumer does not write",
					tr.Name, md["consumerGroup"], cfg.Source.ConsumerGroup)
			}
			hubs = append(hubs, md["eventHubName"])
		}
		sort.Strings(hubs)
		cfgHubs := slices.Clone(cfg.Source.Hubs)
		sort.Strings(cfgHubs)
		if !slices.Equal(hubs, cfgHubs) {
			t.Errorf("KEDA triggers cover hubs %v, the config reads %v", hubs, cfgHubs)
		}
	})
}

// Field report 3 (microsoft/azure-container-apps#972): a misspelt checkpointStrategy key or value, which would leave KEDA on its legacy strategy or fail, is caught.
func TestKEDAMirrorRejectsWhatKEDAWouldNotAccept(t *testing.T) {
	valid, err := os.ReadFile(filepath.Join(baseDir, "scaledobject.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeScaledObject(valid); err != nil {
		t.Fatalf("the shipped ScaledObject is refused: %v", err)
	}
	tests := []struct {
		name, from, to, wantErr string
	}{
		{"an unknown spec field is refused", "  minReplicaCount:", "  minReplicas:", "unknown field"},
		{"an unknown azure-eventhub metadata key is refused", "checkpointStrategy: blobMetadata", "checkpointStrategi: blobMetadata", "no metadata checkpointStrategi"},
		{"an unknown checkpoint strategy is refused", "checkpointStrategy: blobMetadata", "checkpointStrategy: blobmetadata", "checkpointStrategy"},
		{"a fallback with a Value trigger is refused", "metricType: AverageValue", "metricType: Value", "fallback needs metricType AverageValue"},
		{"a duplicate trigger name is refused", "name: noninteractiveusersigninlogs", "name: signinlogs", "defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mutated := strings.Replace(string(valid), tt.from, tt.to, 1)
			if mutated == string(valid) {
				t.Fatalf("%q is not in the ScaledObject", tt.from)
			}
			_, err := decodeScaledObject([]byte(mutated))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	ta := "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: x}\nspec:\n  podIdentity:\n    provider: azure-workload\n    identityID: abc\n"
	if _, err := decodeTriggerAuthentication([]byte(ta)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("a misspelt podIdentity key was accepted: %v", err)
	}
}
