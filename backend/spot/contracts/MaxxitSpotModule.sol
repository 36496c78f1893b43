// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// The two Safe (v1.4.1) functions this module uses.
interface ISafe {
    /// operation 0 = CALL, 1 = DELEGATECALL (never used here).
    function execTransactionFromModuleReturnData(address to, uint256 value, bytes calldata data, uint8 operation)
        external
        returns (bool success, bytes memory returnData);

    function isModuleEnabled(address module) external view returns (bool);
}

interface IERC20 {
    function approve(address spender, uint256 amount) external returns (bool);

    function balanceOf(address account) external view returns (uint256);
}

/// Uniswap SwapRouter02 (the router deployed on Arbitrum): its ExactInputSingleParams has no deadline.
interface IV3SwapRouter {
    struct ExactInputSingleParams {
        address tokenIn;
        address tokenOut;
        uint24 fee;
        address recipient;
        uint256 amountIn;
        uint256 amountOutMinimum;
        uint160 sqrtPriceLimitX96;
    }

    function exactInputSingle(ExactInputSingleParams calldata params) external payable returns (uint256 amountOut);
}

/// @title Maxxit spot module
/// @notice Enabled on a user's Safe, it lets executors the Safe itself allowed do exactly one thing: swap
/// between USDC and a token whitelisted at construction, through one fixed router, with the Safe as the
/// recipient and a non-zero minimum output. It cannot transfer tokens, call anything else, or change the Safe.
contract MaxxitSpotModule {
    struct Fill {
        address tokenIn;
        address tokenOut;
        uint256 amountIn;
        uint256 amountOut;
        uint64 blockNumber;
    }

    uint8 private constant CALL = 0;

    address public immutable router;
    address public immutable usdc;

    /// Fixed forever at construction: there is no function that changes it.
    mapping(address token => bool) public isWhitelisted;
    mapping(address safe => mapping(address executor => bool)) public isExecutor;
    /// A swap per (Safe, orderId): our client order id, so a retried order can never swap twice.
    mapping(address safe => mapping(bytes32 orderId => Fill)) public fills;

    event ExecutorSet(address indexed safe, address indexed executor, bool allowed);
    event Swapped(
        address indexed safe,
        bytes32 indexed orderId,
        address indexed executor,
        address tokenIn,
        address tokenOut,
        uint256 amountIn,
        uint256 amountOut
    );

    constructor(address router_, address usdc_, address[] memory tokens) {
        require(router_ != address(0) && usdc_ != address(0), "zero address");
        router = router_;
        usdc = usdc_;
        for (uint256 i = 0; i < tokens.length; i++) {
            require(tokens[i] != address(0) && tokens[i] != usdc_, "bad token");
            isWhitelisted[tokens[i]] = true;
        }
    }

    /// Called by the Safe itself (a Safe transaction its owners signed): only that Safe's executors change.
    function setExecutor(address executor, bool allowed) external {
        require(executor != address(0), "zero address");
        isExecutor[msg.sender][executor] = allowed;
        emit ExecutorSet(msg.sender, executor, allowed);
    }

    function swap(
        address safe,
        bytes32 orderId,
        address tokenIn,
        address tokenOut,
        uint24 fee,
        uint256 amountIn,
        uint256 minAmountOut
    ) external returns (uint256 amountOut) {
        require(isExecutor[safe][msg.sender], "not executor");
        // The Safe would refuse anyway (GS104); this says why in words the adapter can report.
        require(ISafe(safe).isModuleEnabled(address(this)), "module not enabled");
        require(
            (tokenIn == usdc && isWhitelisted[tokenOut]) || (tokenOut == usdc && isWhitelisted[tokenIn]),
            "pair not allowed"
        );
        require(amountIn > 0, "zero amount");
        require(minAmountOut > 0, "no slippage guard");
        Fill storage fill = fills[safe][orderId];
        require(fill.blockNumber == 0, "order id used");
        // Marked used before any external call: a re-entered swap with this id fails.
        fill.tokenIn = tokenIn;
        fill.tokenOut = tokenOut;
        fill.amountIn = amountIn;
        fill.blockNumber = uint64(block.number);

        uint256 balanceBefore = IERC20(tokenOut).balanceOf(safe);
        _approve(safe, tokenIn, amountIn);
        _exec(
            safe,
            router,
            abi.encodeCall(
                IV3SwapRouter.exactInputSingle,
                (
                    IV3SwapRouter.ExactInputSingleParams({
                        tokenIn: tokenIn,
                        tokenOut: tokenOut,
                        fee: fee,
                        recipient: safe,
                        amountIn: amountIn,
                        amountOutMinimum: minAmountOut,
                        sqrtPriceLimitX96: 0
                    })
                )
            )
        );
        _approve(safe, tokenIn, 0);
        // What the Safe received, not what the router says it sent.
        amountOut = IERC20(tokenOut).balanceOf(safe) - balanceBefore;
        require(amountOut >= minAmountOut, "slippage");
        fill.amountOut = amountOut;
        emit Swapped(safe, orderId, msg.sender, tokenIn, tokenOut, amountIn, amountOut);
    }

    function _approve(address safe, address token, uint256 amount) private {
        bytes memory ret = _exec(safe, token, abi.encodeCall(IERC20.approve, (router, amount)));
        // Tokens that return nothing (USDT-style) are accepted; those that return false are not.
        require(ret.length == 0 || abi.decode(ret, (bool)), "approve failed");
    }

    /// A CALL from the Safe with no value; the callee's revert reason is passed on unchanged.
    function _exec(address safe, address to, bytes memory data) private returns (bytes memory) {
        (bool success, bytes memory ret) = ISafe(safe).execTransactionFromModuleReturnData(to, 0, data, CALL);
        if (!success) {
            if (ret.length > 0) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
            revert("safe call failed");
        }
        return ret;
    }
}
