/// Which parts of a document a caller will read, so the parser can check the rest without building
/// it. A 100-record Kinesis event is mostly metadata nobody reads (ARNs, event IDs, partition
/// keys); building each of those strings and member arrays only to free them again was a quarter
/// of a batch's CPU. Dropped parts are still checked exactly as kept ones (syntax, UTF-8, nesting
/// depth), so a selection changes what the tree holds, never which documents are accepted.
public indirect enum JSONSelection: Sendable {
    /// The value whole.
    case everything
    /// Checked, not kept: a dropped member is left out of its object, a dropped element out of its array.
    case nothing
    /// Of an object: the named members with their own selections, every other member with `others`.
    /// A value of another type is kept whole, so a caller's type check still names what was sent.
    case object([JSONSelectedMember], others: JSONSelection)
    /// Of an array: every element with this selection. A value of another type is kept whole.
    case elements(JSONSelection)

    var keepsValue: Bool {
        if case .nothing = self { return false }
        return true
    }

    /// The selection for an object's member whose key is the UTF-8 `key`.
    func member<Key: Collection<UInt8>>(_ key: Key) -> JSONSelection {
        switch self {
        case .everything, .elements: .everything
        case .nothing: .nothing
        case .object(let members, let others): members.last(where: { $0.key.elementsEqual(key) })?.selection ?? others
        }
    }

    /// The selection for an array's elements.
    var element: JSONSelection {
        switch self {
        case .everything, .object: .everything
        case .nothing: .nothing
        case .elements(let selection): selection
        }
    }
}

public struct JSONSelectedMember: Sendable {
    /// The key's UTF-8 bytes, compared with the document's key without building a String.
    let key: [UInt8]
    let selection: JSONSelection

    public init(_ key: String, _ selection: JSONSelection) {
        self.key = Array(key.utf8)
        self.selection = selection
    }
}
