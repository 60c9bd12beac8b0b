package pipeline

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite docs/tables.md from the schemas and derivations")

const tablesIntro = `# Tables and how each column is derived

This file is generated from internal/table/schemas.go and pipeline/decode_columns.go by
` + "`go test ./pipeline -run TestDocs -update`" + `; a test fails when it is out of date.

streamhunt builds rows of Microsoft's sign-in tables from the records Entra diagnostic settings
stream to Event Hubs (research: ../shared/research/column-mapping.md for Log Analytics,
aadsignineventsbeta.md for Defender XDR). ` + "`p.x`" + ` below is ` + "`properties.x`" + ` of the record.

## Categories

| record ` + "`category`" + ` | rows |
|---|---|
| SignInLogs (and the 2018 preview's SignIn) | SigninLogs, AADSignInEventsBeta, EntraIdSignInEvents |
| NonInteractiveUserSignInLogs | AADNonInteractiveUserSignInLogs, AADSignInEventsBeta, EntraIdSignInEvents |
| ServicePrincipalSignInLogs | AADServicePrincipalSignInLogs |
| MicrosoftServicePrincipalSignInLogs | AADServicePrincipalSignInLogs (a choice: Microsoft's own table for these, probably AADFirstPartyToFirstPartySignInLogs, is unverified; the records carry the service-principal fields; Category keeps the verbatim name so rules can tell them apart) |
| ManagedIdentitySignInLogs | AADManagedIdentitySignInLogs |
| ADFSSignInLogs | ADFSSignInLogs |
| anything else (AuditLogs, ...) | none: counted by category in streamhunt_records_skipped_total, never dropped silently |

Matching is exact first, then case-insensitive.

## Conversions by column type

Unless a row says otherwise, a column takes its source value converted to the column's type:

- **string**: a JSON string's text; a number as its decimal text as sent (` + "`55836`" + `); an object or array as
  compact JSON text built from the record's bytes (no insignificant whitespace, source key order and number text
  kept); null or missing → ` + "`\"\"`" + ` (Kusto strings are never null).
- **dynamic**: the compact JSON of the value; null or missing → null.
- **long / int**: a JSON integer or a string holding one (` + "`\"0\"`" + `); a fraction (` + "`\"14.2187\"`" + `) is truncated
  and counted (streamhunt_fields_coerced_total{outcome="truncated"}); anything else → null, counted ("emptied").
- **bool**: true/false or their text; missing → null; anything else → null, counted.
- **datetime**: ISO 8601 with any offset (converted to UTC), or the US forms ` + "`11/14/2025 1:48:53 AM`" + `,
  ` + "`02/20/2026 14:54:26.123`" + `, ` + "`10/10/2023 13:26:34`" + ` (optionally with an offset); kept to 100 ns (7 digits);
  unparseable → null, counted.

A field of the wrong type never costs the record: only a record that is not a JSON object, or whose
` + "`properties`" + ` is neither an object nor a JSON string holding one, is a dead letter (bad-record).

## Bodies, records and dead letters

A body is ` + "`{\"records\":[...]}`" + `, a bare array of records or one record (a UTF-8 BOM is skipped). It is
validated in one pass that also indexes each record's fields; only the columns the loaded rules read
are then derived (DecodeFull derives every column for records a rule matched). What cannot be decoded
becomes a dead letter, and the partition keeps moving:

| reason | when | what survives |
|---|---|---|
| body-too-large | the body is over DecodeOptions.MaxBodyBytes (16 MiB) | nothing |
| too-many-records | more than DecodeOptions.MaxRecords (65536) records | nothing |
| not-records | valid JSON that is a string, number, bool or null, or an object whose "records" is not an array | nothing |
| invalid-json | the body is not JSON, nor after repair, nor readable record by record; or nests deeper than DecodeOptions.MaxDepth (64) | the body's other records when it is an envelope or array |
| bad-record | a record that is not an object, has no category, or whose properties are neither an object nor a JSON string holding one | the body's other records |
| truncated | the body ends between two records, before its array of records (or the envelope) is closed; the dead letter holds the whole body | every record before the cut |

An invalid body is first repaired: raw control characters inside strings (line breaks, tabs) are
escaped, counted in streamhunt_bodies_repaired_total{repair="control-characters"}. A valid body is never
modified. An envelope or array that is still broken is read record by record: each record that is valid
JSON by itself is decoded, each broken stretch is a dead letter with its index and the byte where it
breaks (field reports #16 and #19). Records of categories no table maps are counted, not dead-lettered.

## Columns that are not columns here

The workspace ` + "`TenantId`" + `, ` + "`_BilledSize`" + ` and ` + "`_IsBillable`" + ` of the Log Analytics tables cannot be known
from the stream and are left out (column-mapping.md counts them: SigninLogs has 98 there, 95 here).
The Defender views do carry ` + "`TenantId`" + `: in Defender it is the Entra tenant, which the record has.

## Defender views

AADSignInEventsBeta and EntraIdSignInEvents share one column set, the union of both documented lists,
so queries written for either resolve; only TokenIssuerType differs (int in Beta, string in the
successor). ` + "`Type`" + ` holds the table name the row was asked for. Approximated or not derivable:
EndpointCall (only ` + "`Cmsi:Cmsi`" + ` for the interactive device-code step; the compiler refuses comparisons with any
other value), IsExternalUser (heuristic), ReportId (synthetic), DeviceTrustType (mapping inferred),
RiskDetails, LastPasswordChangeTimestamp, GatewayJA4 and SourceSystem (not in the record).
`

// tablesDoc renders docs/tables.md.
func tablesDoc() string {
	var b strings.Builder
	b.WriteString(tablesIntro)
	for _, t := range table.Tables() {
		fmt.Fprintf(&b, "\n## %s (%d columns)\n\n| Column | Type | Derivation |\n|---|---|---|\n", t.Name, len(t.Columns))
		for _, c := range t.Columns {
			d, _ := derivFor(t, c.Name)
			doc := d.doc
			if len(c.Known) > 0 {
				doc += fmt.Sprintf(" (known values: %s)", strings.Join(c.Known, ", "))
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Name, c.Type, strings.ReplaceAll(doc, "|", "\\|"))
		}
	}
	return b.String()
}

func TestEveryColumnOfEveryTableHasADerivation(t *testing.T) {
	for _, tb := range table.Tables() {
		for _, c := range tb.Columns {
			d, ok := derivFor(tb, c.Name)
			if !ok || d.get == nil || d.doc == "" {
				t.Errorf("%s.%s has no documented derivation", tb.Name, c.Name)
			}
		}
	}
}

func TestDocsTablesDescribesEveryColumnOfEveryTable(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(t), "docs", "tables.md")
	want := tablesDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pipeline -run TestDocs -update)", err)
	}
	for _, tb := range table.Tables() {
		for _, c := range tb.Columns {
			if !strings.Contains(string(got), "| "+c.Name+" | "+c.Type.String()+" |") {
				t.Errorf("docs/tables.md does not describe %s.%s", tb.Name, c.Name)
			}
		}
	}
	if string(got) != want {
		t.Error("docs/tables.md is out of date: run go test ./pipeline -run TestDocs -update")
	}
}
