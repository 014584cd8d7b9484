from .at_loss import ATLoss
from .feature_mse_loss import FeatureMSELoss
from .gram_loss import GramLoss
from .icd_loss import ICDLoss
from .kd_loss import KDLoss
from .pkt_loss import PKTLoss

__all__ = ['ATLoss', 'FeatureMSELoss', 'GramLoss', 'ICDLoss', 'KDLoss',
           'PKTLoss']
