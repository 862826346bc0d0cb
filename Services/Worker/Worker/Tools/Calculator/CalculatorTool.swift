import Foundation
import HeraldProtocol

/// Evaluates an arithmetic expression: + - * / % ^, parentheses, unary minus, decimals.
public struct CalculatorTool: Tool {
    public let name = "calculator"
    public let description =
        "Evaluates an arithmetic expression with + - * / % (modulo) ^ (power), parentheses, unary minus and decimals, e.g. (17*3)+4."
    public let parameters: JSONValue = [
        "type": "object",
        "properties": [
            "expression": [
                "type": "string",
                "description": "The expression, e.g. (17*3)+4 or 2^10 % 7",
            ]
        ],
        "required": ["expression"],
        "additionalProperties": false,
    ]

    public init() {}

    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let expression = try arguments.stringArgument("expression") else {
            throw ToolError("argument 'expression' is required")
        }
        let trimmed = expression.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let value = try ArithmeticExpression(parsing: trimmed).evaluate()
            return [
                "expression": .string(trimmed),
                "value": .number(NumberText.rounded(value)),
                "text": .string(NumberText.format(value)),
            ]
        } catch {
            throw ToolError(error.message)
        }
    }
}
