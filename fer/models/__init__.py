"""The four paper models. Importing this package registers them."""

from fer.models.base import FERModel
from fer.models.convcut import ConvCut
from fer.models.psa_resnet50 import PSAResNet50
from fer.models.resemotenet import ResEmoteNet
from fer.models.unet_eca_resnet34 import UNetECAResNet34

__all__ = ["ConvCut", "FERModel", "PSAResNet50", "ResEmoteNet", "UNetECAResNet34"]
