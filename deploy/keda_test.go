package deploy_test

import (
	"fmt"
	"sort"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A strict local mirror of KEDA's keda.sh/v1alpha1 ScaledObject and
// TriggerAuthentication (kedacore/keda apis/keda/v1alpha1, v2.17): the JSON
// names of the CRD fields this project may use. Decoding with unknown fields
// rejected catches a misspelt or invented key before a cluster would ignore it.

type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              scaledObjectSpec `json:"spec"`
}

type scaledObjectSpec struct {
	ScaleTargetRef        *scaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	InitialCooldownPeriod int32           `json:"initialCooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Advanced              *advancedConfig `json:"advanced,omitempty"`
	Triggers              []scaleTrigger  `json:"triggers"`
	Fallback              *fallback       `json:"fallback,omitempty"`
}

type scaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

type advancedConfig struct {
	HorizontalPodAutoscalerConfig *struct {
		Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
		Name     string                                         `json:"name,omitempty"`
	} `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
}

type fallback struct {
	FailureThreshold int32 `json:"failureThreshold"`
	Replicas         int32 `json:"replicas"`
}

type scaleTrigger struct {
	Type              string            `json:"type"`
	Name              string            `json:"name,omitempty"`
	UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *struct {
		Name string `json:"name"`
		Kind string `json:"kind,omitempty"`
	} `json:"authenticationRef,omitempty"`
	MetricType autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		PodIdentity *struct {
			Provider              string  `json:"provider"`
			IdentityID            *string `json:"identityId,omitempty"`
			IdentityTenantID      *string `json:"identityTenantId,omitempty"`
			IdentityAuthorityHost *string `json:"identityAuthorityHost,omitempty"`
		} `json:"podIdentity,omitempty"`
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef,omitempty"`
		Env []struct {
			Parameter     string `json:"parameter"`
			Name          string `json:"name"`
			ContainerName string `json:"containerName,omitempty"`
		} `json:"env,omitempty"`
	} `json:"spec"`
}

// eventHubMetadataKeys are the trigger metadata keys KEDA's azure-eventhub
// scaler reads (pkg/scalers/azure_eventhub_scaler.go and azure.EventHubInfo;
// a key read from the environment takes the FromEnv suffix).
var eventHubMetadataKeys = map[string]bool{
	"unprocessedEventThreshold": true, "activationUnprocessedEventThreshold": true, "stalePartitionInfoThreshold": true,
	"consumerGroup": true, "connectionFromEnv": true, "storageConnectionFromEnv": true, "storageAccountName": true,
	"blobContainer": true, "eventHubNamespace": true, "eventHubNamespaceFromEnv": true, "eventHubName": true,
	"eventHubNameFromEnv": true, "checkpointStrategy": true, "cloud": true, "endpointSuffix": true, "storageEndpointSuffix": true,
}

// checkpointStrategies are the values KEDA knows for checkpointStrategy.
var checkpointStrategies = map[string]bool{"azureFunction": true, "blobMetadata": true, "goSdk": true, "dapr": true}

// decodeScaledObject decodes strictly and checks what KEDA's admission
// webhook and scaler would refuse.
func decodeScaledObject(b []byte) (*scaledObject, error) {
	var so scaledObject
	if err := decodeStrict(b, &so); err != nil {
		return nil, fmt.Errorf("ScaledObject: %w", err)
	}
	if so.APIVersion != "keda.sh/v1alpha1" || so.Kind != "ScaledObject" {
		return nil, fmt.Errorf("ScaledObject: apiVersion/kind %s/%s", so.APIVersion, so.Kind)
	}
	if so.Spec.ScaleTargetRef == nil || so.Spec.ScaleTargetRef.Name == "" {
		return nil, fmt.Errorf("ScaledObject %s: spec.scaleTargetRef.name is required", so.Name)
	}
	if len(so.Spec.Triggers) == 0 {
		return nil, fmt.Errorf("ScaledObject %s: no triggers", so.Name)
	}
	if mn, mx := so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount; mn != nil && mx != nil && *mn > *mx {
		return nil, fmt.Errorf("ScaledObject %s: minReplicaCount %d > maxReplicaCount %d", so.Name, *mn, *mx)
	}
	names := map[string]bool{}
	for i, tr := range so.Spec.Triggers {
		if tr.Name != "" {
			if names[tr.Name] {
				return nil, fmt.Errorf("ScaledObject %s: trigger name %q is defined twice", so.Name, tr.Name)
			}
			names[tr.Name] = true
		}
		if so.Spec.Fallback != nil && tr.MetricType != autoscalingv2.AverageValueMetricType {
			return nil, fmt.Errorf("ScaledObject %s: trigger %d: fallback needs metricType AverageValue", so.Name, i)
		}
		if tr.Type != "azure-eventhub" {
			continue
		}
		var unknown []string
		for k := range tr.Metadata {
			if !eventHubMetadataKeys[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return nil, fmt.Errorf("ScaledObject %s: trigger %d: azure-eventhub has no metadata %s", so.Name, i, strings.Join(unknown, ", "))
		}
		if s := tr.Metadata["checkpointStrategy"]; !checkpointStrategies[s] {
			return nil, fmt.Errorf("ScaledObject %s: trigger %d: checkpointStrategy %q is not one KEDA knows", so.Name, i, s)
		}
	}
	return &so, nil
}

func decodeTriggerAuthentication(b []byte) (*triggerAuthentication, error) {
	var ta triggerAuthentication
	if err := decodeStrict(b, &ta); err != nil {
		return nil, fmt.Errorf("TriggerAuthentication: %w", err)
	}
	if ta.APIVersion != "keda.sh/v1alpha1" || ta.Kind != "TriggerAuthentication" {
		return nil, fmt.Errorf("TriggerAuthentication: apiVersion/kind %s/%s", ta.APIVersion, ta.Kind)
	}
	if p := ta.Spec.PodIdentity; p != nil {
		switch p.Provider {
		case "azure-workload", "gcp", "aws", "aws-eks", "none":
		default:
			return nil, fmt.Errorf("TriggerAuthentication %s: podIdentity.provider %q is not one KEDA knows", ta.Name, p.Provider)
		}
	}
	return &ta, nil
}
