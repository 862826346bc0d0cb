import Testing

@testable import Worker

@Suite("Arithmetic expressions")
struct ArithmeticExpressionTests {
    private func value(_ source: String) throws -> Double {
        try ArithmeticExpression(parsing: source).evaluate()
    }

    private func error(_ source: String) -> String? {
        do {
            _ = try ArithmeticExpression(parsing: source).evaluate()
            return nil
        } catch {
            return error.message
        }
    }

    @Test(
        "precedence and left associativity",
        arguments: [
            ("2+3*4", 14.0), ("(2+3)*4", 20), ("10-4-3", 3), ("100/10/5", 2), ("(17*3)+4", 55), ("2*3+4*5", 26), ("8/2*4", 16),
        ]
    )
    func precedence(_ source: String, _ expected: Double) throws {
        #expect(try value(source) == expected)
    }

    @Test(
        "unary minus and plus",
        arguments: [
            ("-3+5", 2.0), ("-(2+3)", -5), ("--4", 4), ("2*-3", -6), ("+7", 7), ("-2^2", -4), ("2^-1", 0.5), ("(-2)^2", 4),
        ]
    )
    func unary(_ source: String, _ expected: Double) throws {
        #expect(try value(source) == expected)
    }

    @Test("power is right-associative")
    func power() throws {
        #expect(try value("2^3^2") == 512)
        #expect(try value("(2^3)^2") == 64)
        #expect(try value("2**10") == 1024)
        #expect(try value("9^0.5") == 3)
    }

    @Test("modulo takes the dividend's sign and binds like *")
    func modulo() throws {
        #expect(try value("17 % 5") == 2)
        #expect(try value("-7 % 3") == -1)
        #expect(try value("2+7%4") == 5)
        #expect(try value("7.5 % 2") == 1.5)
    }

    @Test("decimals, spaces and unicode operators")
    func decimals() throws {
        #expect(NumberText.format(try value("0.1+0.2")) == "0.3")
        #expect(try value(".5*4") == 2)
        #expect(try value(" 1.25 * 4 ") == 5)
        #expect(try value("6×7") == 42)
        #expect(try value("84÷2") == 42)
        #expect(try value("10−3") == 7)
        #expect(NumberText.format(try value("1/3")) == "0.333333333333")
    }

    @Test("division and modulo by zero are errors")
    func divisionByZero() {
        #expect(error("1/0") == "division by zero")
        #expect(error("5 % 0") == "modulo by zero")
        #expect(error("1/(2-2)") == "division by zero")
    }

    @Test(
        "syntax errors say what is wrong and where",
        arguments: [
            ("2+", "the expression ends where a number was expected"),
            ("(2+3", "missing ')' for the '(' at position 1"),
            ("2+3)", "unexpected ')' at position 4"),
            ("2 $ 3", "unexpected character '$' at position 3"),
            ("", "the expression is empty"),
            ("1.2.3", "'1.2.3' at position 1 is not a number"),
            ("2(3)", "unexpected '(' at position 2"),
            ("*2", "unexpected '*' at position 1; expected a number or '('"),
        ]
    )
    func syntaxErrors(_ source: String, _ message: String) {
        #expect(error(source) == message)
    }

    @Test("deep nesting, long input and huge results are refused, not crashes")
    func guards() throws {
        let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        #expect(error(deep) == "the expression is longer than 1000 characters")
        let nested = String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200)
        #expect(error(nested) == "the expression nests deeper than 64 levels")
        #expect(error(String(repeating: "-", count: 500) + "1") == "the expression nests deeper than 64 levels")
        #expect(error("2^2^2^2^2^2^2^2^2^2") != nil)
        #expect(error("10^400") == "the result is too large to represent")
        #expect(error("(-8)^0.5") == "-8^0.5 is not a real number")
        #expect(try value(String(repeating: "(", count: 60) + "1" + String(repeating: ")", count: 60)) == 1)
    }

    @Test("the calculator tool reports values and errors")
    func calculatorTool() async throws {
        let tool = CalculatorTool()
        let context = ToolContext(runID: "r", threadID: "t", userID: "u", toolCallID: "c", logger: TestSupport.logger)
        let result = try await tool.run(arguments: ["expression": "(17*3)+4"], context: context)
        #expect(result["value"] == 55)
        #expect(result["expression"] == "(17*3)+4")
        await #expect(throws: ToolError("division by zero")) {
            try await tool.run(arguments: ["expression": "1/0"], context: context)
        }
        await #expect(throws: ToolError("argument 'expression' is required")) {
            try await tool.run(arguments: [:], context: context)
        }
        await #expect(throws: ToolError("argument 'expression' must be a string")) {
            try await tool.run(arguments: ["expression": 3], context: context)
        }
    }
}
