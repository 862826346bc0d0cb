import Foundation

/// An arithmetic expression parsed by recursive descent and evaluated in `Double`.
///
/// Grammar, loosest binding first:
/// ```
/// sum      := product (("+" | "-") product)*
/// product  := unary (("*" | "/" | "%") unary)*
/// unary    := ("-" | "+") unary | power
/// power    := primary ("^" unary)?            // right-associative: 2^3^2 = 2^9
/// primary  := number | "(" sum ")"
/// ```
/// Unary minus binds looser than `^`, as in mathematics: `-2^2` is `-4`, `2^-1` is `0.5`.
/// `×`, `÷`, `−` (and `–`) are accepted for `*`, `/`, `-`; `**` for `^`.
public struct ArithmeticExpression: Sendable, Equatable {
    /// Longest expression accepted, in characters: the calculator is for questions, not programs.
    public static let maximumLength = 1000
    /// Deepest nesting of parentheses, unary signs and chained powers, which bounds the parser's recursion.
    public static let maximumDepth = 64

    public let source: String
    let root: Node

    indirect enum Node: Sendable, Equatable {
        case number(Double)
        case negate(Node)
        case binary(BinaryOperator, Node, Node)
    }

    enum BinaryOperator: Sendable, Equatable {
        case add, subtract, multiply, divide, modulo, power
    }

    public init(parsing source: String) throws(ArithmeticError) {
        guard source.count <= Self.maximumLength else {
            throw ArithmeticError("the expression is longer than \(Self.maximumLength) characters")
        }
        var parser = Parser(tokens: try Tokenizer.tokens(of: source))
        self.source = source
        self.root = try parser.parseExpression()
    }

    /// The value; division or modulo by zero and non-finite results are errors.
    public func evaluate() throws(ArithmeticError) -> Double {
        try Self.evaluate(root)
    }

    private static func evaluate(_ node: Node) throws(ArithmeticError) -> Double {
        switch node {
        case .number(let value):
            return value
        case .negate(let operand):
            return -(try evaluate(operand))
        case .binary(let op, let lhs, let rhs):
            let left = try evaluate(lhs)
            let right = try evaluate(rhs)
            let value: Double
            switch op {
            case .add: value = left + right
            case .subtract: value = left - right
            case .multiply: value = left * right
            case .divide:
                guard right != 0 else { throw ArithmeticError("division by zero") }
                value = left / right
            case .modulo:
                guard right != 0 else { throw ArithmeticError("modulo by zero") }
                // The remainder takes the sign of the dividend, as in C and Swift: -7 % 3 = -1.
                value = left.truncatingRemainder(dividingBy: right)
            case .power:
                value = Self.power(left, right)
                if value.isNaN {
                    throw ArithmeticError("\(NumberText.format(left))^\(NumberText.format(right)) is not a real number")
                }
            }
            guard value.isFinite else {
                throw ArithmeticError("the result is too large to represent")
            }
            return value
        }
    }

    private static func power(_ base: Double, _ exponent: Double) -> Double {
        // Repeated multiplication keeps small integer powers exact (3^2 = 9, not 8.999…).
        if exponent.rounded() == exponent, abs(exponent) <= 64 {
            var result = 1.0
            for _ in 0..<Int(abs(exponent)) { result *= base }
            return exponent < 0 ? 1 / result : result
        }
        return Foundation.pow(base, exponent)
    }
}

/// Why an expression could not be parsed or evaluated; the message is shown to the user.
public struct ArithmeticError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: Tokens

enum ArithmeticToken: Sendable, Equatable {
    case number(Double)
    case plus, minus, times, divide, modulo, power
    case open, close

    var text: String {
        switch self {
        case .number(let value): NumberText.format(value)
        case .plus: "+"
        case .minus: "-"
        case .times: "*"
        case .divide: "/"
        case .modulo: "%"
        case .power: "^"
        case .open: "("
        case .close: ")"
        }
    }
}

struct PositionedToken: Sendable, Equatable {
    var token: ArithmeticToken
    /// 1-based character position in the source, for error messages.
    var position: Int
}

enum Tokenizer {
    static func tokens(of source: String) throws(ArithmeticError) -> [PositionedToken] {
        var tokens: [PositionedToken] = []
        let characters = Array(source)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let position = index + 1
            switch character {
            case " ", "\t", "\n", "\u{00A0}":
                index += 1
            case "0"..."9", ".":
                let start = index
                while index < characters.count, characters[index].isASCII, characters[index].isNumber || characters[index] == "." {
                    index += 1
                }
                let text = String(characters[start..<index])
                guard text.filter({ $0 == "." }).count <= 1, text != ".", let value = Double(text) else {
                    throw ArithmeticError("'\(text)' at position \(position) is not a number")
                }
                tokens.append(PositionedToken(token: .number(value), position: position))
            case "*" where index + 1 < characters.count && characters[index + 1] == "*":
                tokens.append(PositionedToken(token: .power, position: position))
                index += 2
            default:
                guard let token = Self.symbol(character) else {
                    throw ArithmeticError("unexpected character '\(character)' at position \(position)")
                }
                tokens.append(PositionedToken(token: token, position: position))
                index += 1
            }
        }
        return tokens
    }

    private static func symbol(_ character: Character) -> ArithmeticToken? {
        switch character {
        case "+": .plus
        case "-", "\u{2212}", "\u{2013}": .minus  // hyphen-minus, minus sign, en dash
        case "*", "\u{00D7}", "\u{22C5}", "\u{00B7}": .times  // ×, ⋅, ·
        case "/", "\u{00F7}", "\u{2215}": .divide  // ÷, ∕
        case "%": .modulo
        case "^": .power
        case "(": .open
        case ")": .close
        default: nil
        }
    }
}

// MARK: Parser

private struct Parser {
    let tokens: [PositionedToken]
    var index = 0
    var depth = 0

    init(tokens: [PositionedToken]) {
        self.tokens = tokens
    }

    mutating func parseExpression() throws(ArithmeticError) -> ArithmeticExpression.Node {
        guard !tokens.isEmpty else { throw ArithmeticError("the expression is empty") }
        let node = try parseSum()
        if let extra = peek {
            throw ArithmeticError("unexpected '\(extra.token.text)' at position \(extra.position)")
        }
        return node
    }

    private var peek: PositionedToken? { index < tokens.count ? tokens[index] : nil }

    private mutating func advance() { index += 1 }

    private mutating func descend() throws(ArithmeticError) {
        depth += 1
        guard depth <= ArithmeticExpression.maximumDepth else {
            throw ArithmeticError("the expression nests deeper than \(ArithmeticExpression.maximumDepth) levels")
        }
    }

    private mutating func parseSum() throws(ArithmeticError) -> ArithmeticExpression.Node {
        var node = try parseProduct()
        while let next = peek {
            switch next.token {
            case .plus:
                advance()
                node = .binary(.add, node, try parseProduct())
            case .minus:
                advance()
                node = .binary(.subtract, node, try parseProduct())
            default: return node
            }
        }
        return node
    }

    private mutating func parseProduct() throws(ArithmeticError) -> ArithmeticExpression.Node {
        var node = try parseUnary()
        while let next = peek {
            switch next.token {
            case .times:
                advance()
                node = .binary(.multiply, node, try parseUnary())
            case .divide:
                advance()
                node = .binary(.divide, node, try parseUnary())
            case .modulo:
                advance()
                node = .binary(.modulo, node, try parseUnary())
            default: return node
            }
        }
        return node
    }

    private mutating func parseUnary() throws(ArithmeticError) -> ArithmeticExpression.Node {
        switch peek?.token {
        case .minus:
            advance()
            try descend()
            defer { depth -= 1 }
            return .negate(try parseUnary())
        case .plus:
            advance()
            try descend()
            defer { depth -= 1 }
            return try parseUnary()
        default:
            return try parsePower()
        }
    }

    private mutating func parsePower() throws(ArithmeticError) -> ArithmeticExpression.Node {
        let base = try parsePrimary()
        guard peek?.token == .power else { return base }
        advance()
        try descend()
        defer { depth -= 1 }
        // The exponent is a unary, which itself may be a power: right-associative.
        return .binary(.power, base, try parseUnary())
    }

    private mutating func parsePrimary() throws(ArithmeticError) -> ArithmeticExpression.Node {
        guard let next = peek else {
            throw ArithmeticError("the expression ends where a number was expected")
        }
        switch next.token {
        case .number(let value):
            advance()
            return .number(value)
        case .open:
            advance()
            try descend()
            let inner = try parseSum()
            depth -= 1
            guard let close = peek else {
                throw ArithmeticError("missing ')' for the '(' at position \(next.position)")
            }
            guard close.token == .close else {
                throw ArithmeticError("unexpected '\(close.token.text)' at position \(close.position); expected ')'")
            }
            advance()
            return inner
        default:
            throw ArithmeticError("unexpected '\(next.token.text)' at position \(next.position); expected a number or '('")
        }
    }
}
