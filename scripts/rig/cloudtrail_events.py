"""Builders of realistic CloudTrail records for IAM Identity Center, for tests and demos.

Each function returns one record as CloudTrail writes it: the `detail` of an EventBridge
"AWS API Call via CloudTrail" event, an element of a log file's `Records`, and the JSON text
LookupEvents returns in `CloudTrailEvent`. Feed them to cloudtrail_fake's `POST /_fake/events`.
Event ids are derived from the content, so building the same event twice gives the same record
(a replay), and two different events never collide.

The shapes follow published samples, with identifiers replaced:
- sign-in, older format (user named in userIdentity.userName): AWS SSO User Guide, "Understanding
  AWS SSO sign-in events" (awsdocs/aws-single-sign-on-user-guide, understanding-sign-in-events.md).
- sign-in, current format (user identified by userIdentity.onBehalfOf, type IdentityCenterUser):
  AWS Transfer Family User Guide, "CloudTrail logging for Transfer Family web apps" (UserAuthentication
  and CredentialVerification samples), and AWS Security Blog, "Important changes to CloudTrail events
  for AWS IAM Identity Center" (userName/principalId dropped from 2025-01-13).
- GetRoleCredentials with serviceEventDetails role_name/account_id: Aidan Steele, "Apps can now
  impersonate human access to AWS via IAM Identity Center" (2026-07-01), full CloudTrail records.
- legacy Authenticate (sso.amazonaws.com, AwsServiceEvent): panther-analysis rule
  AWS.Console.Sign-In-prototype, test record.
- SCIM CreateUser (WebIdentityUser, httpBody, responseElements.id): IAM Identity Center User Guide,
  "Logging IAM Identity Center SCIM API calls with AWS CloudTrail".
- sso-directory console calls (requestParameters.identityStoreId, meta dates as "Apr 25, 2023 12:46:02 AM"):
  CreateGroup / AddMemberToGroup records in a public CloudTrail sample collection.
Where no sample was found the record says so next to the assumed field.
"""
from __future__ import annotations

import datetime as dt
import uuid

ACCOUNT_ID = "111122223333"
REGION = "us-east-1"
IDENTITY_STORE_ID = "d-1234567890"
IDENTITY_STORE_ARN = f"arn:aws:identitystore::{ACCOUNT_ID}:identitystore/{IDENTITY_STORE_ID}"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/138.0.0.0 Safari/537.36")
CLI = "aws-cli/2.27.0 md/awscrt#0.26.1 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.13.3 api/sso#2.27.0"
SOURCE_IP = "198.51.100.24"
SOURCES = {"sso-directory": "sso-directory.amazonaws.com", "identitystore": "identitystore.amazonaws.com",
           "identitystore-scim": "identitystore-scim.amazonaws.com"}
SIGN_IN_KINDS = ("UserAuthentication", "CredentialVerification", "Authenticate")


def iso(when) -> str:
    """eventTime as CloudTrail writes it; a naive datetime is taken as UTC."""
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(*parts) -> str:
    """A UUID fixed by the event's content, so a rebuilt event is a faithful replay."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "|".join(map(str, parts))))


def record(when, source: str, name: str, identity: dict, *, event_type="AwsApiCall", read_only=False,
           request=None, response=None, additional=None, details=None, user_agent=BROWSER, error=None) -> dict:
    """The common envelope of every record, in CloudTrail's field order."""
    at = iso(when)
    rec = {"eventVersion": "1.11", "userIdentity": identity, "eventTime": at, "eventSource": source,
           "eventName": name, "awsRegion": REGION, "sourceIPAddress": SOURCE_IP, "userAgent": user_agent}
    if error:
        rec.update(errorCode=error, errorMessage=f"{error} (built by cloudtrail_events)")
    rec.update(requestParameters=request, responseElements=None if error else response)
    if additional is not None:
        rec["additionalEventData"] = additional
    rec.update(requestID=stable_id("request", source, name, at, identity, request),
               eventID=stable_id("event", source, name, at, identity, request, details, error),
               readOnly=read_only, eventType=event_type, managementEvent=True, recipientAccountId=ACCOUNT_ID)
    if details is not None:
        rec["serviceEventDetails"] = details
    rec["eventCategory"] = "Management"
    return rec


def user_identity(user_id: str, user_name: str | None, identity_store_arn: str, old_format: bool) -> dict:
    """An Identity Center user acting: onBehalfOf since 2025, userName (and no onBehalfOf) before."""
    if old_format:
        ident = {"type": "Unknown", "principalId": ACCOUNT_ID, "arn": "", "accountId": ACCOUNT_ID, "accessKeyId": ""}
        return {**ident, "userName": user_name} if user_name else ident
    return {"type": "IdentityCenterUser", "accountId": ACCOUNT_ID,
            "onBehalfOf": {"userId": user_id, "identityStoreArn": identity_store_arn},
            "credentialId": stable_id("credential", user_id)}


def admin_identity() -> dict:
    """An administrator working through a permission set role, as console and API calls record it."""
    role = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    return {"type": "AssumedRole", "principalId": "AROAEXAMPLEADMINROLE:admin",
            "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/admin", "accountId": ACCOUNT_ID,
            "accessKeyId": "ASIAEXAMPLEADMINKEY",
            "sessionContext": {"sessionIssuer": {
                "type": "Role", "principalId": "AROAEXAMPLEADMINROLE", "accountId": ACCOUNT_ID, "userName": role,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/aws-reserved/sso.amazonaws.com/{role}"},
                "attributes": {"creationDate": "2026-01-01T00:00:00Z", "mfaAuthenticated": "false"}}}


def sign_in(user_id: str, user_name: str | None, when, identity_store_arn: str = IDENTITY_STORE_ARN,
            success: bool = True, kind: str = "UserAuthentication", old_format: bool = False) -> dict:
    """A sign-in to the AWS access portal: signin.amazonaws.com UserAuthentication or
    CredentialVerification, or the legacy sso.amazonaws.com Authenticate."""
    if kind not in SIGN_IN_KINDS:
        raise ValueError(f"kind must be one of {SIGN_IN_KINDS}")
    if kind == "UserAuthentication" and not success:
        raise ValueError("CloudTrail logs no UserAuthentication for a failed sign-in; "
                         "use kind='CredentialVerification' with success=False")
    outcome = "Success" if success else "Failure"
    workflow = {"AuthWorkflowID": stable_id("workflow", user_id, iso(when)), "CredentialType": "PASSWORD"}
    if kind == "Authenticate":
        # Legacy events name the user in additionalEventData.UserName in the old format (docs/contract.md);
        # a failed one carries errorCode (assumed: no failed Authenticate sample was found).
        additional = {"UserName": user_name} if old_format and user_name else None
        ident = user_identity(user_id, None, identity_store_arn, old_format)
        return record(when, "sso.amazonaws.com", kind, ident, event_type="AwsServiceEvent", additional=additional,
                      error=None if success else "AuthenticationFailed")
    if kind == "UserAuthentication":
        workflow["LoginTo"] = f"https://{identity_store_arn.rsplit('/', 1)[-1]}.awsapps.com/start/"
    ident = user_identity(user_id, user_name, identity_store_arn, old_format)
    return record(when, "signin.amazonaws.com", kind, ident, event_type="AwsServiceEvent", additional=workflow,
                  details={kind: outcome})


def password_change(user_id: str, when, identity_store_arn: str = IDENTITY_STORE_ARN, by_admin: bool = False,
                    old_format: bool = False, user_name: str | None = None) -> dict:
    """sso-directory UpdatePassword: the user changing their own password in the access portal
    (identified by onBehalfOf; older events by requestParameters.userId), or an administrator's reset
    (the user in requestParameters.userId). Assumed shape: no published UpdatePassword sample was found."""
    store_id = identity_store_arn.rsplit("/", 1)[-1]
    by_id = {"identityStoreId": store_id, "userId": user_id, "password": HIDDEN}
    if by_admin:
        return record(when, SOURCES["sso-directory"], "UpdatePassword", admin_identity(), request=by_id)
    ident = user_identity(user_id, user_name, identity_store_arn, old_format)
    return record(when, SOURCES["sso-directory"], "UpdatePassword", ident,
                  request=by_id if old_format else {"password": HIDDEN})


def role_sign_in(user_id: str, user_name: str | None, when, account_id: str, role_name: str,
                 kind: str = "GetRoleCredentials", old_format: bool = False,
                 identity_store_arn: str = IDENTITY_STORE_ARN) -> dict:
    """A user taking a permission set's role in an account: the access portal's Federate or the
    CLI's GetRoleCredentials, both sso.amazonaws.com with serviceEventDetails role_name/account_id."""
    if kind not in ("Federate", "GetRoleCredentials"):
        raise ValueError("kind must be 'Federate' or 'GetRoleCredentials'")
    ident = user_identity(user_id, user_name, identity_store_arn, old_format)
    agent = CLI if kind == "GetRoleCredentials" else BROWSER
    return record(when, "sso.amazonaws.com", kind, ident, event_type="AwsServiceEvent", read_only=True,
                  user_agent=agent, details={"role_name": role_name, "account_id": account_id})


def source_name(source: str) -> str:
    """The event source for 'sso-directory', 'identitystore' or 'identitystore-scim' (with or
    without '.amazonaws.com')."""
    short = source.removesuffix(".amazonaws.com")
    if short not in SOURCES:
        raise ValueError(f"source must be one of {sorted(SOURCES)}")
    return SOURCES[short]


def console_date(when) -> str:
    """The `meta` date format sso-directory and SCIM responses use ("Apr 25, 2023 12:46:02 AM")."""
    m = dt.datetime.strptime(iso(when), "%Y-%m-%dT%H:%M:%SZ")
    return f"{m:%b} {m.day}, {m.year} {int(m.strftime('%I'))}:{m:%M:%S %p}"


def create_user(source: str, user_id: str, user_name: str, when, identity_store_id: str = IDENTITY_STORE_ID,
                error: str | None = None) -> dict:
    """CreateUser from the console (sso-directory: responseElements.user.userId), the Identity Store
    API (identitystore: responseElements.userId) or SCIM (identitystore-scim: responseElements.id).
    With `error` the call failed: errorCode set and no responseElements."""
    event_source = source_name(source)
    if event_source == SOURCES["identitystore-scim"]:
        body = {"displayName": HIDDEN, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "name": {"familyName": HIDDEN, "givenName": HIDDEN}, "active": True, "userName": HIDDEN}
        meta = {"created": console_date(when), "lastModified": console_date(when), "resourceType": "User"}
        return record(when, event_source, "CreateUser", {"type": "WebIdentityUser", "accountId": ACCOUNT_ID,
                      "accessKeyId": "ASIAEXAMPLESCIMKEY"}, user_agent="Go-http-client/2.0", error=error,
                      request={"httpBody": body, "tenantId": stable_id("tenant", identity_store_id)},
                      response={"meta": meta, **body, "id": user_id})
    request = {"identityStoreId": identity_store_id, "userName": user_name,
               "name": {"givenName": HIDDEN, "familyName": HIDDEN}, "displayName": HIDDEN}
    if event_source == SOURCES["identitystore"]:
        return record(when, event_source, "CreateUser", admin_identity(), request={**request, "userName": HIDDEN},
                      user_agent=CLI.replace("sso", "identitystore"), error=error,
                      response={"identityStoreId": identity_store_id, "userId": user_id})
    meta = {"createdAt": console_date(when), "updatedAt": console_date(when),
            "createdBy": ACCOUNT_ID, "updatedBy": ACCOUNT_ID}
    return record(when, event_source, "CreateUser", admin_identity(), request=request, error=error,
                  response={"user": {"userId": user_id, "userName": user_name, "userAttributes": {}, "meta": meta}})


def delete_user(source: str, user_id: str, when, identity_store_id: str = IDENTITY_STORE_ID,
                error: str | None = None) -> dict:
    """DeleteUser from the console or the Identity Store API (requestParameters.userId) or SCIM
    (requestParameters.id, the SCIM resource id)."""
    event_source = source_name(source)
    if event_source == SOURCES["identitystore-scim"]:
        return record(when, event_source, "DeleteUser", {"type": "WebIdentityUser", "accountId": ACCOUNT_ID,
                      "accessKeyId": "ASIAEXAMPLESCIMKEY"}, user_agent="Go-http-client/2.0", error=error,
                      request={"tenantId": stable_id("tenant", identity_store_id), "id": user_id})
    agent = BROWSER if event_source == SOURCES["sso-directory"] else CLI.replace("sso", "identitystore")
    return record(when, event_source, "DeleteUser", admin_identity(), user_agent=agent, error=error,
                  request={"identityStoreId": identity_store_id, "userId": user_id})


def iam_user_event(name: str, user_name: str, when) -> dict:
    """IAM's own CreateUser or DeleteUser (iam.amazonaws.com): same event names as the identity
    store's, which a rule matching on eventName alone would also deliver."""
    if name not in ("CreateUser", "DeleteUser"):
        raise ValueError("name must be 'CreateUser' or 'DeleteUser'")
    agent = CLI.replace("sso", "iam")
    if name == "DeleteUser":
        return record(when, "iam.amazonaws.com", name, admin_identity(), user_agent=agent, request={"userName": user_name})
    user = {"path": "/", "userName": user_name, "userId": "AIDA" + stable_id("iam", user_name).replace("-", "")[:17].upper(),
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{user_name}", "createDate": console_date(when)}
    return record(when, "iam.amazonaws.com", name, admin_identity(), user_agent=agent,
                  request={"userName": user_name}, response={"user": user})
