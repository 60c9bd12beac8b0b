// Package deploy holds no code: its tests check the deployment files beside
// them (Kubernetes manifests, the KEDA objects, the Bicep templates, the
// Grafana dashboard and the Prometheus alerts) and the repository's
// Dockerfile, without a cluster, a Bicep compiler or a Docker engine.
package deploy
