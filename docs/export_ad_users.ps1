<#
.SYNOPSIS
    Exports the Clinical Connectivity portal's Active Directory accounts exactly as
    ccreview reads them (its `active-directory-csv` format).

.DESCRIPTION
    Active Directory is read from an export, not pulled: reading it needs a domain-joined
    Windows host with the ActiveDirectory module (RSAT). Run this there, on a schedule
    before the review, and copy the file into the review's input folder (any name ending
    in .csv under directory/ is fine; ccreview recognises the format by its header).

    The columns, in this order, are the ones ccreview reads: lastLogonTimestamp, pwdLastSet
    and accountExpires stay Windows FILETIME integers (ccreview converts them; 0 and
    9223372036854775807 mean never), and whenCreated is written by Export-Csv in this
    host's culture and on this host's clock: tell ccreview which, in its configuration
    ([cultures] directory, e.g. "en-US"; [time_zones] directory, e.g. "America/Phoenix").

    Works in Windows PowerShell 5.1 (a #TYPE first line, every field quoted) and in
    PowerShell 7 (no type line); ccreview reads both.

.PARAMETER SearchBase
    The OU holding the portal's accounts.

.PARAMETER OutFile
    Where to write the CSV (UTF-8).

.EXAMPLE
    .\export_ad_users.ps1 -SearchBase "OU=Clinical Connectivity,OU=External,DC=examplehealth,DC=org" -OutFile "\\fileserver\ccreview\input\directory\ad_users.csv"
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $SearchBase,
    [Parameter(Mandatory = $true)] [string] $OutFile
)

$ErrorActionPreference = "Stop"
Import-Module ActiveDirectory

# The columns ccreview reads, in order (tests/test_readers.py holds this list against the
# reader).
$Columns = @(
    "DistinguishedName", "Enabled", "GivenName", "Name", "ObjectClass", "ObjectGUID",
    "SamAccountName", "Surname", "UserPrincipalName", "mail", "Company", "Department",
    "whenCreated", "lastLogonTimestamp", "pwdLastSet", "accountExpires"
)
$Extra = @("mail", "Company", "Department", "whenCreated", "lastLogonTimestamp",
           "pwdLastSet", "accountExpires")

Get-ADUser -Filter * -SearchBase $SearchBase -SearchScope Subtree -Properties $Extra |
    Select-Object -Property $Columns |
    Export-Csv -Path $OutFile -Encoding UTF8

Write-Output ("Exported {0} accounts to {1}" -f (Import-Csv $OutFile).Count, $OutFile)
