// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IV3SwapRouter} from "./MaxxitSpotModule.sol";

interface IMintable {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);

    function mint(address to, uint256 amount) external;
}

/// Tests only: SwapRouter02's exactInputSingle at a price the test sets (no pools, no fee taken).
contract MockSwapRouter is IV3SwapRouter {
    /// tokenOut base units per 1e18 base units of tokenIn.
    mapping(address tokenIn => mapping(address tokenOut => uint256)) public prices;

    function setPrice(address tokenIn, address tokenOut, uint256 outPerIn1e18) external {
        prices[tokenIn][tokenOut] = outPerIn1e18;
    }

    function exactInputSingle(ExactInputSingleParams calldata params) external payable returns (uint256 amountOut) {
        uint256 price = prices[params.tokenIn][params.tokenOut];
        require(price > 0, "no price");
        amountOut = (params.amountIn * price) / 1e18;
        require(amountOut >= params.amountOutMinimum, "Too little received");
        require(IMintable(params.tokenIn).transferFrom(msg.sender, address(this), params.amountIn), "pull failed");
        IMintable(params.tokenOut).mint(params.recipient, amountOut);
    }
}
