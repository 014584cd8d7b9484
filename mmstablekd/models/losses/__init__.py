from .at_loss import ATLoss
from .cwd_loss import CWDLoss
from .dense_head_kd_loss import DenseHeadKDLoss
from .feature_mse_loss import FeatureMSELoss
from .gram_loss import GramLoss
from .icd_loss import ICDLoss
from .kd_loss import KDLoss
from .pkd_loss import PKDLoss
from .pkt_loss import PKTLoss

__all__ = ['ATLoss', 'CWDLoss', 'DenseHeadKDLoss', 'FeatureMSELoss',
           'GramLoss', 'ICDLoss', 'KDLoss', 'PKDLoss', 'PKTLoss']
