package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/testenv"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

// stage is one FROM ... [AS name] and its instructions.
type stage struct {
	from, name string
	ins        []instruction
}

func parseDockerfile(t *testing.T, text string) (globalArgs []instruction, stages []*stage) {
	t.Helper()
	var logical []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			s := &stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
		case len(stages) == 0:
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
			}
			globalArgs = append(globalArgs, in)
		default:
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	return globalArgs, stages
}

// dockerignore matches paths against .dockerignore patterns (no "!"
// exceptions: the test refuses them, since it does not emulate them).
type dockerignore []string

func (d dockerignore) ignored(rel string) bool {
	for _, p := range d {
		if matchSegments(strings.Split(strings.Trim(p, "/"), "/"), strings.Split(rel, "/")) {
			return true
		}
	}
	return false
}

func matchSegments(pat, name []string) bool {
	if len(pat) == 0 {
		return true // a directory pattern matches everything below it
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchSegments(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], name[0])
	return ok && matchSegments(pat[1:], name[1:])
}

func readDockerignore(t *testing.T, root string) dockerignore {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatalf("the repository needs a .dockerignore so that node_modules and .git stay out of the build context: %v", err)
	}
	var d dockerignore
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore exception %q: this test does not emulate exceptions", l)
		}
		d = append(d, l)
	}
	return d
}

// copyContext copies src (a path in the build context, "." for all of it)
// to dst, leaving out what .dockerignore names, as COPY does.
func copyContext(t *testing.T, ctxRoot string, ign dockerignore, src, dst string) {
	t.Helper()
	base := filepath.Join(ctxRoot, filepath.FromSlash(src))
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ctxRoot, p)
		rel = filepath.ToSlash(rel)
		if rel != "." && ign.ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		inner, _ := filepath.Rel(base, p)
		target := filepath.Join(dst, inner)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("COPY %s: %v", src, err)
	}
}

// TestImageBuildStageRunsAndTheBinaryStartsAsTheImageWould emulates the
// Dockerfile without a Docker engine: the build stage's COPY lines copy the
// build context (minus .dockerignore) into a scratch root, its RUN lines run
// there as shell, the final stage's COPY --from sources must exist, and the
// binary starts with the image's ENTRYPOINT and CMD.
func TestImageBuildStageRunsAndTheBinaryStartsAsTheImageWould(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go is not on PATH: the build stage runs go")
	}
	repo := testenv.RepoRoot(t)
	text, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	globalArgs, stages := parseDockerfile(t, string(text))
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if build.name == "" {
		t.Fatalf("the build stage (FROM %s) has no name for COPY --from", build.from)
	}
	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("build stage FROM %s, want golang:", build.from)
	}
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless static or scratch (no shell at run time)", final.from)
	}

	root := t.TempDir() // stands for the build stage's filesystem root
	const version = "v0.0.0-imagetest"
	env := map[string]string{}
	for _, a := range globalArgs {
		k, v, _ := strings.Cut(a.args, "=")
		env[k] = v
	}
	overrides := map[string]string{"VERSION": version, "OUT": filepath.Join(root, "out")}
	workdir := root
	ign := readDockerignore(t, repo)
	var ran int
	for _, in := range build.ins {
		switch in.cmd {
		case "WORKDIR":
			workdir = filepath.Join(root, filepath.FromSlash(in.args))
			if err := os.MkdirAll(workdir, 0o755); err != nil {
				t.Fatal(err)
			}
		case "ARG", "ENV":
			k, v, _ := strings.Cut(in.args, "=")
			if o, ok := overrides[k]; ok {
				v = o
			}
			env[k] = v
		case "COPY":
			f := strings.Fields(in.args)
			dst := f[len(f)-1]
			if !strings.HasPrefix(dst, "/") {
				dst = filepath.Join(workdir, dst)
			} else {
				dst = filepath.Join(root, dst)
			}
			for _, src := range f[:len(f)-1] {
				if fi, err := os.Stat(filepath.Join(repo, src)); err == nil && !fi.IsDir() {
					if ign.ignored(src) {
						t.Fatalf("COPY %s: .dockerignore leaves it out of the context", src)
					}
					copyContext(t, repo, nil, src, filepath.Join(dst, filepath.Base(src)))
					continue
				}
				copyContext(t, repo, ign, src, dst)
			}
		case "RUN":
			ran++
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			cmd := exec.CommandContext(ctx, "sh", "-ec", in.args)
			cmd.Dir = workdir
			cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=")
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("RUN %s failed: %v\n%s", in.args, err, out)
			}
		default:
			t.Fatalf("build stage instruction %s is not emulated by this test: keep the build stage to WORKDIR, ARG, ENV, COPY and RUN", in.cmd)
		}
	}
	if ran == 0 {
		t.Fatal("the build stage runs nothing")
	}

	var entrypoint, command []string
	var user string
	var copied []string
	for _, in := range final.ins {
		switch in.cmd {
		case "ENTRYPOINT":
			entrypoint = execForm(t, in)
		case "CMD":
			command = execForm(t, in)
		case "USER":
			user = in.args
		case "COPY":
			f := strings.Fields(in.args)
			if !strings.HasPrefix(f[0], "--from="+build.name) {
				t.Errorf("final stage COPY %s does not come from the build stage", in.args)
				continue
			}
			src := filepath.Join(root, filepath.FromSlash(f[1]))
			if fi, err := os.Stat(src); err != nil || fi.Size() == 0 {
				t.Errorf("final stage copies %s, which the build stage did not produce: %v", f[1], err)
			}
			copied = append(copied, f[2])
		}
	}

	t.Run("the image runs as a non-root numeric user", func(t *testing.T) {
		uid, _, _ := strings.Cut(user, ":")
		n, err := strconv.Atoi(uid)
		if err != nil || n == 0 {
			t.Errorf("USER %q, want a numeric non-zero uid (Kubernetes runAsNonRoot cannot check a name)", user)
		}
	})

	if len(entrypoint) != 1 || !slices.Contains(copied, entrypoint[0]) {
		t.Fatalf("ENTRYPOINT %v is not the binary the final stage copies (%v)", entrypoint, copied)
	}
	bin := filepath.Join(root, "out", filepath.Base(entrypoint[0]))

	t.Run("the binary is static and carries the stamped version", func(t *testing.T) {
		out := runBinary(t, bin, "version")
		if out.code != 0 || !strings.Contains(out.stdout, "streamhunt "+version) {
			t.Errorf("`streamhunt version` = %d %q, want the stamped version %s", out.code, out.stdout, version)
		}
		info, err := exec.Command("go", "version", "-m", bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath=true"} {
			if !bytes.Contains(info, []byte(want)) {
				t.Errorf("build information lacks %s:\n%s", want, info)
			}
		}
	})

	t.Run("the image's default command fails cleanly without its config file", func(t *testing.T) {
		if len(command) == 0 || command[0] != "run" {
			t.Fatalf("CMD %v, want run ...", command)
		}
		out := runBinary(t, bin, command...)
		if out.code == 0 {
			return // a config at that path exists on this machine and was valid
		}
		cfgPath := command[len(command)-1]
		if !strings.Contains(out.stderr, cfgPath) || strings.Contains(out.stderr, "panic") || strings.Contains(out.stderr, "goroutine ") {
			t.Errorf("`streamhunt %s` exit %d, stderr %q: want a clear message naming %s", strings.Join(command, " "), out.code, out.stderr, cfgPath)
		}
	})

	t.Run("run --check never prints the secrets of its configuration", func(t *testing.T) {
		const (
			ehKey      = "k3yEventHubsAbCdEf0123456789+/AbCdEfGhIjKlMnO="
			webhookKey = "whk_live_4f9a8b7c6d5e4f3a2b1c"
		)
		dir := t.TempDir()
		valid := "source:\n  connectionString: Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=" + ehKey + "\n" +
			"  hubs: [insights-logs-signinlogs]\n  startPosition: START\ncheckpoints:\n  dir: " + filepath.Join(dir, "cp") + "\n" +
			"deadLetter:\n  dir: " + filepath.Join(dir, "dl") + "\nsinks:\n  - name: soc\n    webhook:\n      url: https://soc.example.com/hook\n      secret: " + webhookKey + "\n"
		for _, tt := range []struct {
			name, start string
			wantCode    int
		}{
			{"a valid configuration", "latest", 0},
			{"a configuration with a mistake", "sometimes", 2},
		} {
			cfgPath := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(cfgPath, []byte(strings.Replace(valid, "START", tt.start, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			out := runBinary(t, bin, "run", "--check", "--config", cfgPath)
			if out.code != tt.wantCode {
				t.Errorf("%s: exit %d, want %d\n%s%s", tt.name, out.code, tt.wantCode, out.stdout, out.stderr)
			}
			for _, secret := range []string{ehKey, webhookKey} {
				if strings.Contains(out.stdout+out.stderr, secret) {
					t.Errorf("%s: the output holds the secret %q:\n%s%s", tt.name, secret, out.stdout, out.stderr)
				}
			}
		}
	})

	t.Run("the service answers probes, exports metrics, logs JSON without secrets, reports a silent category and stops on SIGTERM", func(t *testing.T) {
		checkRunningService(t, bin)
	})

	t.Run("the image carries an SBOM listing every module linked into the binary", func(t *testing.T) {
		var sbomPath string
		for _, c := range copied {
			if strings.HasSuffix(c, ".spdx.json") {
				sbomPath = filepath.Join(root, "out", filepath.Base(c))
			}
		}
		if sbomPath == "" {
			t.Fatalf("the final stage copies no .spdx.json (copied %v)", copied)
		}
		checkSBOM(t, repo, sbomPath, bin, version)
	})
}

// checkSBOM checks an SPDX document against the modules `go list` says
// cmd/streamhunt is built from, independently of the build information the
// script read.
func checkSBOM(t *testing.T, repo, sbomPath, bin, version string) {
	t.Helper()
	raw, err := os.ReadFile(sbomPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			SPDXID      string `json:"SPDXID"`
			Name        string `json:"name"`
			VersionInfo string `json:"versionInfo"`
			Checksums   []struct {
				Algorithm, ChecksumValue string
			} `json:"checksums"`
			ExternalRefs []struct {
				ReferenceType, ReferenceLocator string
			} `json:"externalRefs"`
		} `json:"packages"`
		Relationships []struct {
			SpdxElementID, RelationshipType, RelatedSpdxElement string
		} `json:"relationships"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the SBOM is not JSON: %v\n%s", err, raw)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion %q", doc.SPDXVersion)
	}
	got := map[string]string{}
	dependsOn := map[string]bool{}
	for _, r := range doc.Relationships {
		if r.RelationshipType == "DEPENDS_ON" {
			dependsOn[r.RelatedSpdxElement] = true
		}
	}
	for _, p := range doc.Packages {
		got[p.Name] = p.VersionInfo
		if p.SPDXID != "SPDXRef-Package-binary" && !dependsOn[p.SPDXID] {
			t.Errorf("package %s is not related to the binary", p.Name)
		}
		if p.SPDXID == "SPDXRef-Package-binary" {
			if p.VersionInfo != version {
				t.Errorf("binary version %q, want %q", p.VersionInfo, version)
			}
			sum := sha256File(t, bin)
			if len(p.Checksums) != 1 || p.Checksums[0].ChecksumValue != sum {
				t.Errorf("binary checksum %v, want SHA256 %s", p.Checksums, sum)
			}
		}
		if len(p.ExternalRefs) == 0 || !strings.HasPrefix(p.ExternalRefs[0].ReferenceLocator, "pkg:golang/") {
			t.Errorf("package %s has no Go purl", p.Name)
		}
	}
	if v := got["stdlib"]; !strings.HasPrefix(v, "go1.") {
		t.Errorf("the Go toolchain is missing from the SBOM (stdlib %q)", v)
	}

	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", "./cmd/streamhunt")
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	want := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if p, v, ok := strings.Cut(l, " "); ok {
			want[p] = v
		}
	}
	for p, v := range want {
		if got[p] != v {
			t.Errorf("module %s: SBOM says %q, the build uses %s", p, got[p], v)
		}
	}
	if n := len(doc.Packages) - 2; n != len(want) {
		t.Errorf("the SBOM lists %d modules, the build uses %d", n, len(want))
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("%s %s is not in exec form (JSON array): a distroless image has no shell to run the shell form", in.cmd, in.args)
	}
	return v
}

type result struct {
	code           int
	stdout, stderr string
}

func runBinary(t *testing.T, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = nil
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("cannot start %s %v: %v", bin, args, err)
		}
		code = ee.ExitCode()
	}
	return result{code, so.String(), se.String()}
}
