package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Account says how to reach a storage account: a connection string (never
// logged), or an account URL with Entra ID through DefaultAzureCredential
// (workload identity, managed identity, az login). The identity needs the
// Storage Blob Data Contributor role on the container.
type Account struct {
	ConnectionString string `yaml:"connectionString"`
	AccountURL       string `yaml:"accountUrl"`
}

// Validate reports every error at once, keys relative to the account.
func (a Account) Validate() error {
	var errs []error
	switch {
	case a.ConnectionString == "" && a.AccountURL == "":
		errs = append(errs, errors.New("connectionString, accountUrl: set one (accountUrl uses Entra ID)"))
	case a.ConnectionString != "" && a.AccountURL != "":
		errs = append(errs, errors.New("connectionString, accountUrl: set only one"))
	case a.AccountURL != "":
		u, err := url.Parse(a.AccountURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			errs = append(errs, fmt.Errorf("accountUrl: %q is not a URL like https://ACCOUNT.blob.core.windows.net/", a.AccountURL))
		}
	case a.ConnectionString != "":
		if !strings.Contains(a.ConnectionString, "AccountName=") && !strings.Contains(a.ConnectionString, "BlobEndpoint=") {
			errs = append(errs, errors.New("connectionString: does not look like a storage connection string (no AccountName= or BlobEndpoint=)"))
		}
	}
	return errors.Join(errs...)
}

// Client returns an azblob client for the account.
func (a Account) Client() (*azblob.Client, error) {
	if a.ConnectionString != "" {
		c, err := azblob.NewClientFromConnectionString(a.ConnectionString, nil)
		if err != nil {
			// The SDK's message may echo the string; keep the key out of logs.
			return nil, errors.New("connectionString: cannot be parsed as a storage connection string")
		}
		return c, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("accountUrl: no Entra ID credential (%w); set AZURE_CLIENT_ID etc., use a managed identity, or a connection string", err)
	}
	c, err := azblob.NewClient(a.AccountURL, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("accountUrl: %w", err)
	}
	return c, nil
}

// EnsureContainer creates the container unless it exists.
func EnsureContainer(ctx context.Context, c *azblob.Client, container string) error {
	_, err := c.CreateContainer(ctx, container, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("create container %s: %w", container, err)
	}
	return nil
}
