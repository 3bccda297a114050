"""Building blocks shared by the paper models."""

from fer.blocks.detail_extraction import ChannelSelfAttention, DetailExtraction, SeparableConv2d
from fer.blocks.eca import ECA, eca_kernel_size
from fer.blocks.psa import PSAModule, SEWeight
from fer.blocks.se import SEBlock
from fer.blocks.unet_mask import UNetMask

__all__ = [
    "ECA",
    "ChannelSelfAttention",
    "DetailExtraction",
    "PSAModule",
    "SEBlock",
    "SEWeight",
    "SeparableConv2d",
    "UNetMask",
    "eca_kernel_size",
]
