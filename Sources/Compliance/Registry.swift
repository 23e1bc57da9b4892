import FoundationEssentials

/// The kinds of evidence the monitors remember in the registry.
public enum EvidenceKind: Sendable, Hashable {
    case passwordChange
    case signIn
}

/// The registry of Identity Center users. Every write is idempotent and never moves data back:
/// a replayed or late event cannot duplicate a user, move `CreatedAt` or forget evidence.
public protocol Registry: Sendable {
    /// Records a user from a CreateUser event: names and store refreshed, `Origin` kept when the
    /// user is already known (unless only a reconcile knew it), `CreatedAt` written only where there
    /// is none, history dates untouched.
    func register(_ user: RegistryUser) async throws
    /// Adds a user found by a reconcile; false when the user was already there.
    func addIfMissing(_ user: RegistryUser) async throws -> Bool
    /// Refreshes what the identity store says of a known user (names, and its status when the
    /// store reports one); false when the user is no longer in the registry.
    func refresh(userId: String, userName: String, displayName: String?, userStatus: String?, updatedAt: Date) async throws -> Bool
    /// False when there was no such user.
    func remove(userId: String) async throws -> Bool
    func allUsers() async throws -> [RegistryUser]
    /// Remembers `date` unless the registry already holds a later one or does not hold the user;
    /// true when it did.
    @discardableResult
    func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws -> Bool
    /// The user's item, nil when the registry does not hold the user.
    func user(_ userId: String) async throws -> RegistryUser?
}
