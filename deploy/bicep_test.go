package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/config"
	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/sink/loganalytics"
)

// No Bicep compiler runs here, so this file reads the templates with light
// parsing (declarations start a line; the templates keep to that style) and
// checks what a compile would not: names, roles, columns and config keys
// agree with the code they deploy.

// bicep is one parsed .bicep file.
type bicep struct {
	path      string
	text      string
	lines     []string
	params    map[string]string // name -> type
	vars      map[string]bool
	resources map[string]bicepResource
	modules   map[string]string // name -> path
	outputs   map[string]bool
}

type bicepResource struct {
	typ, apiVersion string
	existing        bool
	body            string // from the declaration to the next top-level declaration
}

var (
	paramDecl    = regexp.MustCompile(`(?m)^param (\w+) (\w+)`)
	varDecl      = regexp.MustCompile(`(?m)^var (\w+) =`)
	resourceDecl = regexp.MustCompile(`(?m)^resource (\w+) '([^'@]+)@([^']+)'( existing)? =`)
	moduleDecl   = regexp.MustCompile(`(?m)^module (\w+) '([^']+)' =`)
	outputDecl   = regexp.MustCompile(`(?m)^output (\w+) `)
	topLevel     = regexp.MustCompile(`(?m)^(param|var|resource|module|output|targetScope|@description|//) `)
)

func parseBicep(t *testing.T, path string) *bicep {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := &bicep{path: path, text: string(b), lines: strings.Split(string(b), "\n"),
		params: map[string]string{}, vars: map[string]bool{}, resources: map[string]bicepResource{},
		modules: map[string]string{}, outputs: map[string]bool{}}
	declared := map[string]bool{}
	declare := func(kind, name string) {
		if declared[name] {
			t.Errorf("%s: %s %s is declared twice (or shadows another symbol)", path, kind, name)
		}
		declared[name] = true
	}
	for _, m := range paramDecl.FindAllStringSubmatch(f.text, -1) {
		declare("param", m[1])
		f.params[m[1]] = m[2]
	}
	for _, m := range varDecl.FindAllStringSubmatch(f.text, -1) {
		declare("var", m[1])
		f.vars[m[1]] = true
	}
	bounds := topLevel.FindAllStringIndex(f.text, -1)
	bodyFrom := func(start int) string {
		for _, b := range bounds {
			if b[0] > start {
				return f.text[start:b[0]]
			}
		}
		return f.text[start:]
	}
	for _, m := range resourceDecl.FindAllStringSubmatchIndex(f.text, -1) {
		name := f.text[m[2]:m[3]]
		declare("resource", name)
		f.resources[name] = bicepResource{typ: f.text[m[4]:m[5]], apiVersion: f.text[m[6]:m[7]], existing: m[8] >= 0, body: bodyFrom(m[0])}
	}
	for _, m := range moduleDecl.FindAllStringSubmatch(f.text, -1) {
		declare("module", m[1])
		f.modules[m[1]] = m[2]
	}
	for _, m := range outputDecl.FindAllStringSubmatch(f.text, -1) {
		f.outputs[m[1]] = true
	}
	return f
}

// stringArrayDefault returns the default of `param NAME array = [ 'a' 'b' ]`.
func (f *bicep) stringArrayDefault(t *testing.T, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)\nparam ` + name + ` array = \[(.*?)\n\]`).FindStringSubmatch(f.text)
	if m == nil {
		t.Fatalf("%s: no array default for param %s", f.path, name)
	}
	var out []string
	for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, q[1])
	}
	return out
}

// stringDefault returns the literal default of `param NAME string = 'x'`.
func (f *bicep) stringDefault(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`\nparam ` + name + ` string = '([^'$]*)'\n`).FindStringSubmatch(f.text)
	if m == nil {
		t.Fatalf("%s: no literal default for param %s", f.path, name)
	}
	return m[1]
}

// checkReferences checks that every parameter is used and that every symbol
// used as a resource (parent, scope, dependsOn, .id/.name/.properties/...,
// indexing) is declared.
func (f *bicep) checkReferences(t errorer) {
	t.Helper()
	code := regexp.MustCompile(`(?m)//.*$`).ReplaceAllString(f.text, "")
	code = regexp.MustCompile(`'''(?s:.*?)'''`).ReplaceAllString(code, "''")
	for p := range f.params {
		if n := len(regexp.MustCompile(`\b`+p+`\b`).FindAllString(code, -1)); n < 2 {
			t.Errorf("%s: param %s is declared but never used", f.path, p)
		}
	}
	for v := range f.vars {
		if n := len(regexp.MustCompile(`\b`+v+`\b`).FindAllString(code, -1)); n < 2 {
			t.Errorf("%s: var %s is declared but never used", f.path, v)
		}
	}
	loopVars := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bfor \(?(\w+)(?:, (\w+))?\)? in `).FindAllStringSubmatch(code, -1) {
		loopVars[m[1]], loopVars[m[2]] = true, true
	}
	isSymbol := func(s string) bool {
		_, r := f.resources[s]
		_, m := f.modules[s]
		return r || m
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`\b(?:parent|scope): (\w+)(?:\[\w+\])?\n`),
		regexp.MustCompile(`\b(\w+)(?:\[\w+\])?\.(?:id|name|properties|outputs|listKeys\(\))\b`),
	} {
		for _, m := range re.FindAllStringSubmatch(code, -1) {
			s := m[1]
			if f.params[s] != "" || f.vars[s] || loopVars[s] {
				continue
			}
			if !isSymbol(s) {
				t.Errorf("%s: %q is used as a resource but no resource or module has that name", f.path, m[0])
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?s)dependsOn: \[(.*?)\]`).FindAllStringSubmatch(code, -1) {
		for _, s := range strings.Fields(m[1]) {
			if !isSymbol(s) {
				t.Errorf("%s: dependsOn %s names no resource or module", f.path, s)
			}
		}
	}
}

// knownAPIVersions are the resource type versions these templates may use:
// each was checked against Azure's published Bicep types.
var knownAPIVersions = map[string]string{
	"Microsoft.ManagedIdentity/userAssignedIdentities":                              "2023-01-31",
	"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials": "2023-01-31",
	"Microsoft.EventHub/namespaces":                                                 "2024-01-01",
	"Microsoft.EventHub/namespaces/eventhubs":                                       "2024-01-01",
	"Microsoft.EventHub/namespaces/eventhubs/consumergroups":                        "2024-01-01",
	"Microsoft.EventHub/namespaces/authorizationRules":                              "2024-01-01",
	"Microsoft.Storage/storageAccounts":                                             "2023-05-01",
	"Microsoft.Storage/storageAccounts/blobServices":                                "2023-05-01",
	"Microsoft.Storage/storageAccounts/blobServices/containers":                     "2023-05-01",
	"Microsoft.OperationalInsights/workspaces":                                      "2023-09-01",
	"Microsoft.Insights/dataCollectionEndpoints":                                    "2023-03-11",
	"Microsoft.Insights/dataCollectionRules":                                        "2023-03-11",
	"Microsoft.Authorization/roleAssignments":                                       "2022-04-01",
	"Microsoft.Network/privateDnsZones":                                             "2020-06-01",
	"Microsoft.Network/privateDnsZones/virtualNetworkLinks":                         "2020-06-01",
	"Microsoft.Network/privateEndpoints":                                            "2023-11-01",
	"Microsoft.Network/privateEndpoints/privateDnsZoneGroups":                       "2023-11-01",
	"Microsoft.App/managedEnvironments":                                             "2025-01-01",
	"Microsoft.App/containerApps":                                                   "2025-01-01",
	"microsoft.aadiam/diagnosticSettings":                                           "2017-04-01",
}

// builtinRoles are Azure's built-in role definition ids (the same in every
// tenant), by the name the Azure portal shows.
var builtinRoles = map[string]string{
	"a638d3c7-ab3a-418d-83e6-5f17a39d4fde": "Azure Event Hubs Data Receiver",
	"ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}

// armTemplate is the part of an ARM JSON template the module check reads.
type armTemplate struct {
	Parameters map[string]struct {
		Type         string `json:"type"`
		DefaultValue any    `json:"defaultValue"`
	} `json:"parameters"`
	Outputs   map[string]json.RawMessage `json:"outputs"`
	Resources []struct {
		Type       string `json:"type"`
		Properties struct {
			Schema struct {
				Name    string `json:"name"`
				Columns []struct {
					Name string `json:"name"`
					Type string `json:"type"`
				} `json:"columns"`
			} `json:"schema"`
		} `json:"properties"`
	} `json:"resources"`
}

// Field report 3 (microsoft/azure-container-apps#972): the Container Apps scale rule reads the consumer's checkpoints with checkpointStrategy blobMetadata.
func TestBicepTemplates(t *testing.T) {
	main := parseBicep(t, "azure/main.bicep")
	diag := parseBicep(t, "azure/diagnostic-setting.bicep")

	t.Run("every parameter is used and every referenced resource is declared", func(t *testing.T) {
		main.checkReferences(t)
		diag.checkReferences(t)
	})

	t.Run("every resource type uses a known API version", func(t *testing.T) {
		for _, f := range []*bicep{main, diag} {
			for name, r := range f.resources {
				if v, ok := knownAPIVersions[r.typ]; !ok || v != r.apiVersion {
					t.Errorf("%s: resource %s is %s@%s; known: %s", f.path, name, r.typ, r.apiVersion, v)
				}
			}
		}
	})

	t.Run("the identity gets exactly the three data roles, each on the narrowest scope", func(t *testing.T) {
		guid := regexp.MustCompile(`'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'`)
		roleVar := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^  (\w+): '([0-9a-f-]{36})'$`).FindAllStringSubmatch(main.text, -1) {
			roleVar[m[1]] = m[2]
		}
		for _, m := range guid.FindAllStringSubmatch(main.text, -1) {
			if _, ok := builtinRoles[m[1]]; !ok {
				t.Errorf("main.bicep names role or id %s, which is not one of the roles it needs", m[1])
			}
		}
		wantScope := map[string]string{ // scope resource type -> role
			"Microsoft.EventHub/namespaces":                             "Azure Event Hubs Data Receiver",
			"Microsoft.Storage/storageAccounts/blobServices/containers": "Storage Blob Data Contributor",
			"Microsoft.Insights/dataCollectionRules":                    "Monitoring Metrics Publisher",
		}
		var containersCovered []string
		count := 0
		for name, r := range main.resources {
			if r.typ != "Microsoft.Authorization/roleAssignments" {
				continue
			}
			count++
			scope := regexp.MustCompile(`scope: (\w+)`).FindStringSubmatch(r.body)
			role := regexp.MustCompile(`roleDefinitions', roles\.(\w+)\)`).FindStringSubmatch(r.body)
			if scope == nil || role == nil {
				t.Errorf("role assignment %s has no scope or no roles.X definition", name)
				continue
			}
			scoped, ok := main.resources[scope[1]]
			if !ok {
				t.Errorf("role assignment %s is scoped to %s, not a resource", name, scope[1])
				continue
			}
			got := builtinRoles[roleVar[role[1]]]
			if wantScope[scoped.typ] != got {
				t.Errorf("role assignment %s grants %q on a %s, want %q there", name, got, scoped.typ, wantScope[scoped.typ])
			}
			if !strings.Contains(r.body, "principalId: identity.properties.principalId") || !strings.Contains(r.body, "principalType: 'ServicePrincipal'") {
				t.Errorf("role assignment %s is not for the managed identity", name)
			}
			if scoped.typ == "Microsoft.Storage/storageAccounts/blobServices/containers" {
				containersCovered = append(containersCovered, scope[1])
			}
		}
		sort.Strings(containersCovered)
		if !slices.Equal(containersCovered, []string{"checkpointContainer", "deadLetterContainer", "findingsContainer"}) {
			t.Errorf("blob roles cover %v, want each of the three containers", containersCovered)
		}
		if count != 5 {
			t.Errorf("%d role assignments, want 5 (receiver, three containers, publisher)", count)
		}
	})

	t.Run("the findings table module is deploy/loganalytics, with the sink's columns", func(t *testing.T) {
		path, ok := main.modules["findingsTable"]
		if !ok {
			t.Fatal("no findingsTable module")
		}
		raw, err := os.ReadFile(filepath.Join("azure", path))
		if err != nil {
			t.Fatalf("module %s: %v", path, err)
		}
		var tmpl armTemplate
		if err := json.Unmarshal(raw, &tmpl); err != nil {
			t.Fatal(err)
		}
		body := regexp.MustCompile(`(?s)module findingsTable [^\n]*\n  name: [^\n]*\n  params: \{\n(.*?)\n  \}`).FindStringSubmatch(main.text)
		if body == nil {
			t.Fatal("cannot read the module's params")
		}
		passed := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^    (\w+): `).FindAllStringSubmatch(body[1], -1) {
			passed[m[1]] = true
			if _, ok := tmpl.Parameters[m[1]]; !ok {
				t.Errorf("main.bicep passes %s, which %s does not declare", m[1], path)
			}
		}
		for name, p := range tmpl.Parameters {
			if p.DefaultValue == nil && !passed[name] {
				t.Errorf("%s requires %s, which main.bicep does not pass", path, name)
			}
		}
		for _, m := range regexp.MustCompile(`findingsTable\.outputs\.(\w+)`).FindAllStringSubmatch(main.text, -1) {
			if _, ok := tmpl.Outputs[m[1]]; !ok {
				t.Errorf("main.bicep reads output %s, which %s does not have", m[1], path)
			}
		}
		var got []string
		for _, r := range tmpl.Resources {
			if r.Type == "Microsoft.OperationalInsights/workspaces/tables" {
				for _, c := range r.Properties.Schema.Columns {
					got = append(got, c.Name+":"+strings.ToLower(c.Type))
				}
			}
		}
		var want []string
		for _, c := range loganalytics.Schema {
			want = append(want, c.Name+":"+strings.ToLower(c.Type))
		}
		if !slices.Equal(got, want) {
			t.Errorf("the table's columns\n got %v\nwant the sink's %v", got, want)
		}
	})

	cats := main.stringArrayDefault(t, "signInCategories")
	var hubs []string
	for _, c := range cats {
		hubs = append(hubs, "insights-logs-"+strings.ToLower(c))
	}

	t.Run("the diagnostic setting streams the categories whose hubs main.bicep creates", func(t *testing.T) {
		if !strings.Contains(diag.text, "targetScope = 'tenant'") {
			t.Error("the Entra ID diagnostic setting is a tenant-scope resource")
		}
		if got := diag.stringArrayDefault(t, "signInCategories"); !slices.Equal(got, cats) {
			t.Errorf("diagnostic setting categories %v, main.bicep's %v", got, cats)
		}
		if strings.Contains(diag.resources["signInDiagnostics"].body, "eventHubName:") {
			t.Error("the diagnostic setting names one hub; main.bicep creates one per category")
		}
		for _, c := range cats {
			if _, ok := table.TableForCategory(c); !ok {
				t.Errorf("category %s maps to no table streamhunt decodes", c)
			}
		}
		if !strings.Contains(main.text, "output diagnosticsAuthorizationRuleId string = diagnosticsRule.id") {
			t.Error("main.bicep does not output the rule diagnostic-setting.bicep needs")
		}
		if !strings.Contains(main.text, "var hubNames = [for c in signInCategories: 'insights-logs-${toLower(c)}']") {
			t.Error("main.bicep's hub names are not insights-logs-<category>, as the diagnostic setting writes them")
		}
	})

	t.Run("the Container Apps run config loads with the environment the app sets", func(t *testing.T) {
		app := main.resources["containerApp"].body
		env := map[string]string{}
		for _, m := range regexp.MustCompile(`(?s)name: '([A-Z_]+)'\s+value: `).FindAllStringSubmatch(app, -1) {
			env[m[1]] = "example"
		}
		// Realistic values for the variables the app sets (a variable the
		// app does not set stays unset, and loading fails).
		for k, v := range map[string]string{
			"EVENTHUBS_NAMESPACE":       "contoso-ehns.servicebus.windows.net",
			"STORAGE_BLOB_ENDPOINT":     "https://contosockpt.blob.core.windows.net/",
			"CHECKPOINT_CONTAINER":      main.stringDefault(t, "checkpointContainerName"),
			"DEADLETTER_CONTAINER":      main.stringDefault(t, "deadLetterContainerName"),
			"CONSUMER_GROUP":            main.stringDefault(t, "consumerGroupName"),
			"FINDINGS_CONTAINER":        main.stringDefault(t, "findingsContainerName"),
			"LOGS_INGESTION_ENDPOINT":   "https://streamhunt-dce-a1b2.westeurope-1.ingest.monitor.azure.com",
			"FINDINGS_DCR_IMMUTABLE_ID": "dcr-0123456789abcdef0123456789abcdef",
		} {
			if _, ok := env[k]; ok {
				env[k] = v
			}
		}
		if !strings.Contains(main.text, "loadTextContent('config.yaml')") {
			t.Fatal("main.bicep does not load config.yaml")
		}
		raw, err := os.ReadFile("azure/config.yaml")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(raw, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatalf("azure/config.yaml with the app's environment: %v", err)
		}
		if !slices.Equal(cfg.Source.Hubs, hubs) {
			t.Errorf("the app reads hubs %v, main.bicep creates %v", cfg.Source.Hubs, hubs)
		}
		var la, bl bool
		for _, n := range cfg.Sinks.Sinks {
			if n.LogAnalytics != nil {
				la = n.LogAnalytics.Endpoint == env["LOGS_INGESTION_ENDPOINT"] && n.LogAnalytics.RuleID == env["FINDINGS_DCR_IMMUTABLE_ID"] &&
					(n.LogAnalytics.Stream == "" || n.LogAnalytics.Stream == loganalytics.DefaultStream)
			}
			if n.Blob != nil {
				bl = n.Blob.Container == env["FINDINGS_CONTAINER"]
			}
		}
		if !la || !bl {
			t.Errorf("the app's sinks %+v should write to the findings rule and the findings container main.bicep creates", cfg.Sinks.Sinks)
		}
		for name, from := range map[string]string{
			"LOGS_INGESTION_ENDPOINT":   "dataCollectionEndpoint.properties.logsIngestion.endpoint",
			"FINDINGS_DCR_IMMUTABLE_ID": "findingsTable.outputs.dataCollectionRuleImmutableId",
			"FINDINGS_CONTAINER":        "findingsContainerName",
			"AZURE_CLIENT_ID":           "identity.properties.clientId",
		} {
			if !regexp.MustCompile(`name: '` + name + `'\s+value: ` + regexp.QuoteMeta(from) + `\n`).MatchString(app) {
				t.Errorf("the app does not set %s from %s", name, from)
			}
		}
		if cfg.Source.ConsumerGroup != strings.ToLower(cfg.Source.ConsumerGroup) {
			t.Errorf("consumer group %q is not lower case", cfg.Source.ConsumerGroup)
		}
		if !strings.Contains(app, "'/etc/streamhunt/config.yaml'") || !strings.Contains(app, "mountPath: '/etc/streamhunt'") || !strings.Contains(app, "path: 'config.yaml'") {
			t.Error("the app does not mount config.yaml where its args read it")
		}
		_, port, _ := strings.Cut(cfg.Ops.Listen, ":")
		for _, probe := range []string{"Startup", "Liveness", "Readiness"} {
			want := ops.PathHealthz
			if probe == "Readiness" {
				want = ops.PathReadyz
			}
			re := regexp.MustCompile(`(?s)type: '` + probe + `'\s+httpGet: \{\s+path: '([^']+)'\s+port: (\d+)`)
			m := re.FindStringSubmatch(app)
			if m == nil || m[1] != want || m[2] != port {
				t.Errorf("%s probe %v, want %s on port %s", probe, m, want, port)
			}
		}
	})

	t.Run("the Container Apps scale rule is KEDA's azure-eventhub with the checkpoints streamhunt writes", func(t *testing.T) {
		app := main.resources["containerApp"].body
		m := regexp.MustCompile(`(?s)type: 'azure-eventhub'\s+// [^\n]*\n\s+identity: identity\.id\s+metadata: \{(.*?)\n\s+\}`).FindStringSubmatch(app)
		if m == nil {
			t.Fatal("no azure-eventhub scale rule authenticated with the managed identity")
		}
		md := map[string]string{}
		for _, kv := range regexp.MustCompile(`(?m)^\s+(\w+): (.+)$`).FindAllStringSubmatch(m[1], -1) {
			md[kv[1]] = kv[2]
			if !eventHubMetadataKeys[kv[1]] {
				t.Errorf("scale rule metadata %s is not a key KEDA's azure-eventhub scaler reads", kv[1])
			}
		}
		want := map[string]string{
			"checkpointStrategy": "'blobMetadata'", "consumerGroup": "consumerGroupName", "blobContainer": "checkpointContainerName",
			"eventHubName": "hub", "eventHubNamespace": "eventHubsNamespace.name", "storageAccountName": "storage.name",
		}
		for k, v := range want {
			if md[k] != v {
				t.Errorf("scale rule %s: %s, want %s", k, md[k], v)
			}
		}
		if !strings.Contains(app, "rules: [for (hub, i) in hubNames:") {
			t.Error("the scale rules do not cover every hub")
		}
	})

	t.Run("the outputs name what the Kubernetes base and the run config need", func(t *testing.T) {
		for _, o := range []string{"eventHubsNamespace", "eventHubsNamespaceHost", "hubNames", "storageAccountName", "storageBlobEndpoint",
			"managedIdentityClientId", "logsIngestionEndpoint", "findingsRuleImmutableId", "diagnosticsAuthorizationRuleId"} {
			if !main.outputs[o] {
				t.Errorf("main.bicep has no output %s", o)
			}
		}
	})

	t.Run("the Kubernetes base reads the hubs and consumer group main.bicep creates", func(t *testing.T) {
		m := loadBase(t)
		cfg := m.runConfig(t)
		if !slices.Equal(cfg.Source.Hubs, hubs) {
			t.Errorf("Kubernetes config hubs %v, main.bicep %v", cfg.Source.Hubs, hubs)
		}
		if cg := main.stringDefault(t, "consumerGroupName"); cfg.Source.ConsumerGroup != cg {
			t.Errorf("Kubernetes consumer group %q, main.bicep %q", cfg.Source.ConsumerGroup, cg)
		}
		if c := main.stringDefault(t, "checkpointContainerName"); cfg.Checkpoints.Container != c {
			t.Errorf("Kubernetes checkpoint container %q, main.bicep %q", cfg.Checkpoints.Container, c)
		}
		if !strings.Contains(main.text, "param kubernetesServiceAccount string = 'system:serviceaccount:"+m.namespace.Name+":"+m.serviceAccount.Name+"'") {
			t.Errorf("the federated credential's subject is not the base's service account %s/%s", m.namespace.Name, m.serviceAccount.Name)
		}
		for _, fc := range []struct{ resource, subjectParam string }{
			{"federatedCredential", "kubernetesServiceAccount"}, {"kedaFederatedCredential", "kedaServiceAccount"},
		} {
			if !strings.Contains(main.resources[fc.resource].body, "subject: "+fc.subjectParam+"\n") {
				t.Errorf("federated credential %s is not for %s", fc.resource, fc.subjectParam)
			}
		}
		if m.triggerAuth.Spec.PodIdentity == nil || m.triggerAuth.Spec.PodIdentity.IdentityID == nil {
			t.Error("the TriggerAuthentication does not name the identity the KEDA operator's federated credential grants")
		}
	})
}

func TestBicepReferenceCheckCatchesUndeclaredSymbols(t *testing.T) {
	dir := t.TempDir()
	src := "param used string\nparam unused string\n\nresource a 'Microsoft.EventHub/namespaces@2024-01-01' = {\n  name: used\n}\n\nresource b 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {\n  parent: missing\n  name: 'x'\n}\n\noutput o string = ghost.id\n"
	p := filepath.Join(dir, "t.bicep")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	parseBicep(t, p).checkReferences(rec)
	for _, want := range []string{"param unused is declared but never used", `"parent: missing\n"`, `"ghost.id"`} {
		if !strings.Contains(strings.Join(rec.errs, "\n"), want) {
			t.Errorf("the check missed %s; it reported %v", want, rec.errs)
		}
	}
}

// recorder collects the errors a check reports instead of failing the test.
type recorder struct{ errs []string }

// errorer is the part of testing.T the reference check uses.
type errorer interface {
	Helper()
	Errorf(format string, args ...any)
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// Field report 27 (Azure/azure-sdk-for-js#10132): the deployed checkpoint account has soft delete and versioning off.
func TestTheCheckpointAccountIsDeployedWithoutSoftDeleteOrVersioning(t *testing.T) {
	main := parseBicep(t, "azure/main.bicep")
	var bodies []string
	for _, r := range main.resources {
		if r.typ == "Microsoft.Storage/storageAccounts/blobServices" {
			bodies = append(bodies, r.body)
		}
	}
	if len(bodies) != 1 {
		t.Fatalf("%d blobServices resources in main.bicep, want the checkpoint account's one", len(bodies))
	}
	softDeleteOff := regexp.MustCompile(`deleteRetentionPolicy: \{\s*enabled: false\s*\}`)
	if !softDeleteOff.MatchString(bodies[0]) {
		t.Errorf("the blob service does not turn soft delete off (deleteRetentionPolicy: {enabled: false}):\n%s", bodies[0])
	}
	if !regexp.MustCompile(`(?m)^\s*isVersioningEnabled: false$`).MatchString(bodies[0]) {
		t.Errorf("the blob service does not turn versioning off (isVersioningEnabled: false):\n%s", bodies[0])
	}
}

// Field report 4 (kedacore/keda#797): the shipped ScaledObject and Container App keep at least one replica, so scale-from-zero never waits for checkpoints.
func TestTheShippedScalersNeverScaleToZero(t *testing.T) {
	so := loadBase(t).scaledObject
	if mn := so.Spec.MinReplicaCount; mn == nil || *mn < 1 {
		t.Errorf("ScaledObject minReplicaCount %v, want at least 1", mn)
	}
	if so.Spec.IdleReplicaCount != nil && *so.Spec.IdleReplicaCount < 1 {
		t.Errorf("ScaledObject idleReplicaCount %d scales to zero when idle", *so.Spec.IdleReplicaCount)
	}
	main := parseBicep(t, "azure/main.bicep")
	if !regexp.MustCompile(`@minValue\(1\)\nparam minReplicas int = [1-9]`).MatchString(main.text) {
		t.Error("main.bicep's minReplicas is not held at 1 or more (@minValue(1))")
	}
	if !strings.Contains(main.resources["containerApp"].body, "minReplicas: minReplicas") {
		t.Error("the Container App does not scale from minReplicas")
	}
}
