package table

import (
	"slices"
	"testing"
)

func TestSchemasHaveTheColumnCountsOfMicrosoftsTablesLessTheWorkspaceColumns(t *testing.T) {
	// column-mapping.md counts include TenantId (workspace), _BilledSize and
	// _IsBillable, which the stream cannot know and which are not columns.
	tests := []struct {
		table *Table
		want  int
	}{
		{SigninLogs, 98 - 3},
		{AADNonInteractiveUserSignInLogs, 88 - 3},
		{AADServicePrincipalSignInLogs, 47 - 3},
		{AADManagedIdentitySignInLogs, 48 - 3},
		{ADFSSignInLogs, 47 - 3},
		{AADSignInEventsBeta, 48 + 7}, // §1 of aadsignineventsbeta.md plus the successor-only columns of §4
		{EntraIdSignInEvents, 48 + 7},
	}
	for _, tt := range tests {
		if got := len(tt.table.Columns); got != tt.want {
			t.Errorf("%s has %d columns, want %d", tt.table.Name, got, tt.want)
		}
	}
}

func TestColumnsHaveTheTypesDetectionsRelyOn(t *testing.T) {
	tests := []struct {
		table  *Table
		column string
		want   Type
	}{
		{SigninLogs, "ResultType", TypeString},
		{SigninLogs, "DeviceDetail", TypeDynamic},
		{SigninLogs, "Status", TypeDynamic},
		{SigninLogs, "ConditionalAccessPolicies", TypeDynamic},
		{SigninLogs, "AutonomousSystemNumber", TypeString},
		{SigninLogs, "DurationMs", TypeLong},
		{SigninLogs, "TimeGenerated", TypeDateTime},
		{SigninLogs, "IsInteractive", TypeBool},
		{SigninLogs, "OriginalTransferMethod", TypeString},
		{SigninLogs, "IncomingTokenType", TypeString},
		{SigninLogs, "SessionId", TypeString},
		{SigninLogs, "Type", TypeString},
		{AADNonInteractiveUserSignInLogs, "DeviceDetail", TypeString},
		{AADNonInteractiveUserSignInLogs, "LocationDetails", TypeString},
		{AADNonInteractiveUserSignInLogs, "OriginalTransferMethod", TypeString},
		{AADNonInteractiveUserSignInLogs, "IncomingTokenType", TypeString},
		{AADNonInteractiveUserSignInLogs, "SessionId", TypeString},
		{AADNonInteractiveUserSignInLogs, "ProcessingTimeInMs", TypeString},
		{AADServicePrincipalSignInLogs, "ConditionalAccessPoliciesV2", TypeDynamic},
		{AADManagedIdentitySignInLogs, "ManagedServiceIdentity", TypeString},
		{ADFSSignInLogs, "IsInteractive", TypeBool},
		{AADSignInEventsBeta, "ErrorCode", TypeInt},
		{AADSignInEventsBeta, "RiskLevelDuringSignIn", TypeInt},
		{AADSignInEventsBeta, "ConditionalAccessStatus", TypeInt},
		{AADSignInEventsBeta, "IsManaged", TypeInt},
		{AADSignInEventsBeta, "LogonType", TypeString},
		{AADSignInEventsBeta, "AadDeviceId", TypeString},
		{AADSignInEventsBeta, "EntraIdDeviceId", TypeString},
		{AADSignInEventsBeta, "Timestamp", TypeDateTime},
		{AADSignInEventsBeta, "TimeGenerated", TypeDateTime},
		{AADSignInEventsBeta, "TokenIssuerType", TypeInt},
		{EntraIdSignInEvents, "TokenIssuerType", TypeString},
		{EntraIdSignInEvents, "AadDeviceId", TypeString},
	}
	for _, tt := range tests {
		i, ok := tt.table.Index(tt.column)
		if !ok {
			t.Errorf("%s has no column %s", tt.table.Name, tt.column)
			continue
		}
		if got := tt.table.Columns[i].Type; got != tt.want {
			t.Errorf("%s.%s is %s, want %s", tt.table.Name, tt.column, got, tt.want)
		}
	}
}

func TestColumnsTheStreamCannotKnowAreAbsent(t *testing.T) {
	for _, tb := range Tables() {
		for _, name := range []string{"_BilledSize", "_IsBillable"} {
			if _, ok := tb.Index(name); ok {
				t.Errorf("%s has column %s, which the stream cannot know", tb.Name, name)
			}
		}
		if _, ok := tb.Index("TenantId"); ok && !IsDefender(tb) {
			t.Errorf("%s has the workspace column TenantId", tb.Name)
		}
		if _, ok := tb.Index("Type"); !ok {
			t.Errorf("%s has no Type column", tb.Name)
		}
	}
}

func TestOnlyEndpointCallHasKnownValuesAndItIsCmsi(t *testing.T) {
	for _, tb := range Tables() {
		for _, c := range tb.Columns {
			switch {
			case c.Name == "EndpointCall":
				if !slices.Equal(c.Known, []string{"Cmsi:Cmsi"}) {
					t.Errorf("%s.EndpointCall Known = %q, want [Cmsi:Cmsi]", tb.Name, c.Known)
				}
			case c.Known != nil:
				t.Errorf("%s.%s has Known values %q", tb.Name, c.Name, c.Known)
			}
		}
	}
}

func TestLookupFindsEveryTableByItsExactName(t *testing.T) {
	tests := []struct {
		name string
		want *Table
	}{
		{"SigninLogs", SigninLogs},
		{"AADNonInteractiveUserSignInLogs", AADNonInteractiveUserSignInLogs},
		{"AADServicePrincipalSignInLogs", AADServicePrincipalSignInLogs},
		{"AADManagedIdentitySignInLogs", AADManagedIdentitySignInLogs},
		{"ADFSSignInLogs", ADFSSignInLogs},
		{"AADSignInEventsBeta", AADSignInEventsBeta},
		{"EntraIdSignInEvents", EntraIdSignInEvents},
		{"signinlogs", nil},
		{"SignInLogs", nil},
		{"AuditLogs", nil},
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.name)
		if got != tt.want || ok != (tt.want != nil) {
			t.Errorf("Lookup(%q) = %v, %v; want %v", tt.name, got, ok, tt.want)
		}
	}
	if n := len(Tables()); n != 7 {
		t.Errorf("Tables() has %d tables, want 7", n)
	}
}

func TestCategoriesMapToTheirTables(t *testing.T) {
	tests := []struct {
		category string
		want     *Table
		defender bool
	}{
		{"SignInLogs", SigninLogs, true},
		{"SignIn", SigninLogs, true},
		{"signinlogs", SigninLogs, true},
		{"NonInteractiveUserSignInLogs", AADNonInteractiveUserSignInLogs, true},
		{"ServicePrincipalSignInLogs", AADServicePrincipalSignInLogs, false},
		{"MicrosoftServicePrincipalSignInLogs", AADServicePrincipalSignInLogs, false},
		{"ManagedIdentitySignInLogs", AADManagedIdentitySignInLogs, false},
		{"ADFSSignInLogs", ADFSSignInLogs, false},
		{"AuditLogs", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		got, ok := TableForCategory(tt.category)
		if got != tt.want || ok != (tt.want != nil) {
			t.Errorf("TableForCategory(%q) = %v, %v; want %v", tt.category, got, ok, tt.want)
		}
		all := TablesForCategory(tt.category)
		hasDefender := slices.Contains(all, AADSignInEventsBeta) && slices.Contains(all, EntraIdSignInEvents)
		if hasDefender != tt.defender {
			t.Errorf("TablesForCategory(%q) includes the Defender views: %v, want %v", tt.category, hasDefender, tt.defender)
		}
	}
}
